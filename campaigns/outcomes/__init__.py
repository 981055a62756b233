"""What a campaign leads to: thresholds, deliveries and responses."""
