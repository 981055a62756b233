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
        "slug", "kind", "status", "goal", "unit", "target", "total", "signers", "channels",
        "updated_at",
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
        "channels": {
            "type": "array",
            "description": "The signers (people, also for a pledge) by how they signed: "
            "'online', 'paper' (a collection sheet), 'in_person' (a kiosk at a stand), in "
            "that order, then 'other'. A channel of 1 to 4 signers is merged into 'other'; "
            "if 'other' would hold 1 to 4, the smallest named channel joins it, so no "
            "difference between the signers and the named channels holds 1 to 4 (or the "
            "list is empty). A channel nobody used is 0.",
            "items": {
                "type": "object",
                "required": ["channel", "signers"],
                "additionalProperties": False,
                "properties": {
                    "channel": {"enum": ["online", "paper", "in_person", "other"]},
                    "signers": _INT,
                },
            },
        },
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
                    "the final hash-chain value of the delivery document handed over, ledger_head "
                    "the number of the signed ledger head handed over with it (its signers "
                    "and total as ledger_signers and ledger_total; GET "
                    "/campaigns/{slug}/ledger/heads), ledger_url its row on the ledger page.",
                    "items": {
                        "type": "object",
                        "required": [
                            "date",
                            "method",
                            "texts",
                            "chain_head",
                            "ledger_head",
                            "ledger_signers",
                            "ledger_total",
                            "ledger_url",
                        ],
                        "properties": {
                            "date": {"type": "string", "format": "date"},
                            "method": {"type": "string", "enum": ["in_person", "email", "post"]},
                            "texts": _by_language({"recipient": _STRING, "place": _STRING}),
                            "chain_head": {
                                "type": ["string", "null"],
                                "pattern": "^[0-9a-f]{64}$",
                            },
                            "ledger_head": {
                                "description": "The number of the campaign's signed ledger "
                                "head handed over with the delivery (null: none).",
                                "type": ["integer", "null"],
                                "minimum": 1,
                            },
                            "ledger_signers": {"type": ["integer", "null"], "minimum": 0},
                            "ledger_total": {"type": ["integer", "null"], "minimum": 0},
                            "ledger_url": {
                                "description": "The head's row on the public ledger page.",
                                "type": ["string", "null"],
                                "format": "uri",
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

_HEX32 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_PROOF = {"type": "array", "items": _HEX32}

LEDGER_HEAD = {
    "type": "object",
    "description": "A signed tree head (RFC 9162): the Merkle tree of the campaign's first "
    "tree_size ledger entries, the counts they add up to, and an Ed25519 signature by the "
    "union's key over the lines 'zaytoun-ledger-head-v1', campaign, number, tree_size, "
    "root_hash, signers, total, signed_at (joined with newlines, UTF-8).",
    "required": [
        "campaign", "number", "tree_size", "root_hash", "signers", "total", "signed_at",
        "signature", "key_id",
    ],
    "properties": {
        "campaign": _STRING,
        "number": {"type": "integer", "minimum": 1},
        "tree_size": {"type": "integer", "minimum": 1},
        "root_hash": _HEX32,
        "signers": {"type": "integer"},
        "total": {"type": "integer"},
        "signed_at": {"type": "string", "description": "UTC, to the second (…Z)"},
        "signature": {"type": "string", "pattern": "^[0-9a-f]{128}$"},
        "key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
    },
}

LEDGER_ENTRY = {
    "type": "object",
    "description": "One change of the public count. Its leaf is SHA-256(0x00 || the lines "
    "'zaytoun-ledger-entry-v1', receipt_hash, change, reason or '', units, day).",
    "required": ["position", "receipt_hash", "change", "reason", "units", "day"],
    "properties": {
        "position": {"type": "integer", "minimum": 0},
        "receipt_hash": _HEX32,
        "change": {"type": "string", "enum": ["counted", "withdrawn", "invalidated"]},
        "reason": {
            "type": ["string", "null"],
            "enum": ["organizer", "review", "fraud", "other", None],
        },
        "units": {"type": "integer", "minimum": 1},
        "day": {"type": "string", "format": "date"},
    },
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
_BAD_REQUEST = _json(ERROR, "A parameter is not a whole number in range")


def _number(name: str, description: str, required: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    }


def _ledger_paths() -> dict[str, Any]:
    def get(operation: str, parameters: list[Any], ok: dict[str, Any]) -> dict[str, Any]:
        return {
            "get": {
                "operationId": operation,
                "parameters": [_SLUG, *parameters],
                "responses": {"200": ok, "400": _BAD_REQUEST, "404": _NOT_FOUND},
            }
        }

    nullable_head = {"oneOf": [LEDGER_HEAD, {"type": "null"}]}
    return {
        "/api/v1/ledger/key": {
            "get": {
                "operationId": "getLedgerKey",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["algorithm", "public_key", "key_id"],
                            "properties": {
                                "algorithm": {"enum": ["ed25519"]},
                                "public_key": _HEX32,
                                "key_id": {"type": "string"},
                            },
                        },
                        "The Ed25519 public key that signs every tree head",
                    )
                },
            }
        },
        "/api/v1/campaigns/{slug}/ledger": get(
            "getLedgerHead",
            [],
            _json(
                {"type": "object", "required": ["head"], "properties": {"head": nullable_head}},
                "The latest signed tree head (null before the first)",
            ),
        ),
        "/api/v1/campaigns/{slug}/ledger/heads": get(
            "listLedgerHeads",
            [_number("after", "Heads numbered above this (default 0); at most 1000", False)],
            _json(
                {
                    "type": "object",
                    "required": ["heads"],
                    "properties": {"heads": {"type": "array", "items": LEDGER_HEAD}},
                },
                "Signed tree heads, oldest first",
            ),
        ),
        "/api/v1/campaigns/{slug}/ledger/entries": get(
            "getLedgerEntries",
            [
                _number("start", "The first position (default 0)", False),
                {
                    **_number("count", "At most this many entries (default 1000, at most "
                              "10000)", False),
                    "schema": {"type": "integer", "minimum": 1, "maximum": 10000},
                },
            ],
            {
                "description": "Entries in position order, one JSON object (LedgerEntry) a "
                "line",
                "content": {"application/jsonl": {"schema": {"type": "string"}}},
            },
        ),
        "/api/v1/campaigns/{slug}/ledger/consistency": get(
            "getLedgerConsistency",
            [
                _number("first", "The older head's number"),
                _number("second", "The newer head's number"),
            ],
            _json(
                {
                    "type": "object",
                    "required": ["first", "second", "proof"],
                    "properties": {"first": LEDGER_HEAD, "second": LEDGER_HEAD, "proof": _PROOF},
                },
                "The RFC 9162 consistency proof between two heads",
            ),
        ),
        "/api/v1/campaigns/{slug}/ledger/inclusion": get(
            "getLedgerInclusion",
            [_number("head", "The head's number"), _number("position", "The entry's position")],
            _json(
                {
                    "type": "object",
                    "required": ["entry", "head", "proof"],
                    "properties": {"entry": LEDGER_ENTRY, "head": LEDGER_HEAD, "proof": _PROOF},
                },
                "The RFC 9162 inclusion proof of one entry in a head's tree",
            ),
        ),
    }


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
            **_ledger_paths(),
        },
    }
