from tests.factories import create_campaign


def test_campaign_page_renders(client, app):
    campaign = create_campaign()
    response = client.get(f"/ar/campaigns/{campaign.slug}")
    assert response.status_code == 200
    assert 'dir="rtl"' in response.get_data(as_text=True)
