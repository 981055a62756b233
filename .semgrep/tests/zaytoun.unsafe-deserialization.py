# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
import json
import marshal
import pickle

import yaml


def load(blob, stream):
    # ruleid: unsafe-deserialization
    pickle.loads(blob)
    # ruleid: unsafe-deserialization
    marshal.loads(blob)
    # ruleid: unsafe-deserialization
    yaml.load(stream)
    # ruleid: unsafe-deserialization
    yaml.load(stream, Loader=yaml.FullLoader)
    # ok: unsafe-deserialization
    yaml.load(stream, Loader=yaml.SafeLoader)
    # ok: unsafe-deserialization
    yaml.safe_load(stream)
    # ok: unsafe-deserialization
    return json.loads(blob)
