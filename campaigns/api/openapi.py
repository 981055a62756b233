"""The OpenAPI 3.1 description of the public JSON API."""

from __future__ import annotations

from typing import Any

_INT = {"type": "integer", "minimum": 0}
_NULLABLE_INT = {"type": ["integer", "null"], "minimum": 1}

_COUNTS = {"signers": _INT, "total": _INT}
_STRING = {"type": "string"}
_LANGUAGES = {"enum": ["ar", "en", "ku", "tr"]}
_BY_LANGUAGE_STRING = {
    "type": "object",
    "propertyNames": _LANGUAGES,
    "additionalProperties": _STRING,
}


def _by_language(fields: dict[str, Any]) -> dict[str, Any]:
    """An object by language code (Arabic always there) of ``fields``."""
    return {
        "type": "object",
        "required": ["ar"],
        "propertyNames": _LANGUAGES,
        "additionalProperties": {
            "type": "object",
            "required": list(fields),
            "properties": fields,
        },
    }


def _bucket(key: str, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key, "signers", "total"],
        "additionalProperties": False,
        "properties": {key: {"type": "string", "description": description}, **_COUNTS},
    }


SUMMARY = {
    "type": "object",
    "required": [
        "slug", "kind", "status", "goal", "unit", "target", "total", "signers", "updated_at"
    ],
    "properties": {
        "slug": {"type": "string"},
        "kind": {"type": "string", "enum": ["petition", "pledge"]},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "goal": _NULLABLE_INT,
        "unit": {"type": "string", "description": "What is counted: signatures, trees, …"},
        "target": {
            "type": "object",
            "description": "Who the campaign is addressed to, by language code (ar, en, ku, "
            "tr); a language where it is not written is left out (empty: none named).",
            "propertyNames": _LANGUAGES,
            "additionalProperties": {"type": "string", "maxLength": 300},
        },
        "total": {**_INT, "description": "Signatures, or units pledged for a pledge"},
        "signers": _INT,
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

DETAIL = {
    "allOf": [
        SUMMARY,
        {
            "type": "object",
            "required": [
                "by_country",
                "by_region",
                "daily",
                "milestones",
                "thresholds",
                "responses",
                "deliveries",
            ],
            "properties": {
                "by_country": {
                    "type": "array",
                    "description": "Largest first, then 'other'. No figure, and no difference "
                    "between the total and the named countries, holds 1 to 4 signers: small "
                    "countries are merged into 'other', and if 'other' would hold 1 to 4, the "
                    "smallest named country joins it (or the list is empty).",
                    "items": _bucket("country", "ISO 3166-1 alpha-2 code, or 'other'"),
                },
                "by_region": {
                    "type": "object",
                    "description": "Per country (SY, TR), the same rule under the country's "
                    "figure in by_country; empty for a country not named there.",
                    "additionalProperties": {
                        "type": "array",
                        "items": _bucket("region", "ISO 3166-2 code, or 'other'"),
                    },
                },
                "daily": {
                    "type": "array",
                    "description": "The last 28 days, oldest first. Days with fewer than 5 "
                    "signers are added to the next days and shown on the day the sum reaches 5; "
                    "the newest signers, until they do, are in the total only.",
                    "items": _bucket("day", "UTC date (YYYY-MM-DD)"),
                },
                "thresholds": {
                    "type": "array",
                    "description": "Commitments at a count, smallest first: the commitment "
                    "by language code.",
                    "items": {
                        "type": "object",
                        "required": ["count", "texts"],
                        "properties": {
                            "count": {"type": "integer", "minimum": 1},
                            "texts": _BY_LANGUAGE_STRING,
                        },
                    },
                },
                "responses": {
                    "type": "array",
                    "description": "The addressee's responses, newest first: who answered "
                    "and what, by language code, and the letter as a PDF if published.",
                    "items": {
                        "type": "object",
                        "required": ["date", "texts", "pdf"],
                        "properties": {
                            "date": {"type": "string", "format": "date"},
                            "texts": _by_language({"by": _STRING, "text": _STRING}),
                            "pdf": {"type": ["string", "null"], "format": "uri"},
                        },
                    },
                },
                "deliveries": {
                    "type": "array",
                    "description": "Deliveries of the petition, newest first; chain_head is "
                    "the final hash-chain value of the delivery document handed over.",
                    "items": {
                        "type": "object",
                        "required": ["date", "method", "texts", "chain_head"],
                        "properties": {
                            "date": {"type": "string", "format": "date"},
                            "method": {"type": "string", "enum": ["in_person", "email", "post"]},
                            "texts": _by_language({"recipient": _STRING, "place": _STRING}),
                            "chain_head": {
                                "type": ["string", "null"],
                                "pattern": "^[0-9a-f]{64}$",
                            },
                        },
                    },
                },
                "milestones": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["percent", "day"],
                        "properties": {
                            "percent": {"type": "integer", "enum": [25, 50, 75, 100]},
                            "day": {"type": "string", "format": "date"},
                        },
                    },
                },
            },
        },
    ]
}

COUNT = {
    "type": "object",
    "required": ["total", "signers", "goal"],
    "additionalProperties": False,
    "properties": {"total": _INT, "signers": _INT, "goal": _NULLABLE_INT},
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 80},
}
_NOT_FOUND = _json(ERROR, "No public campaign with this slug")


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Zaytoun public API",
            "version": "1",
            "description": "Live figures of the Aleppo Revolutionaries Union's campaigns. "
            "Aggregates only: no personal data is ever served.",
        },
        "paths": {
            "/api/v1/campaigns": {
                "get": {
                    "operationId": "listCampaigns",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["campaigns"],
                                "properties": {"campaigns": {"type": "array", "items": SUMMARY}},
                            },
                            "Open and closed campaigns",
                        )
                    },
                }
            },
            "/api/v1/campaigns/{slug}": {
                "get": {
                    "operationId": "getCampaign",
                    "parameters": [_SLUG],
                    "responses": {"200": _json(DETAIL, "A campaign's figures"), "404": _NOT_FOUND},
                }
            },
            "/api/v1/campaigns/{slug}/count": {
                "get": {
                    "operationId": "getCampaignCount",
                    "parameters": [_SLUG],
                    "responses": {"200": _json(COUNT, "The live count"), "404": _NOT_FOUND},
                }
            },
        },
    }
