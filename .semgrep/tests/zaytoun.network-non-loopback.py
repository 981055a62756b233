# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
import socket
import urllib.request

import httpx
import requests


def geolocate(ip):
    # ruleid: network-non-loopback
    return requests.get(f"https://geo.example.org/{ip}").json()


def webhook(url, payload):
    # ruleid: network-non-loopback
    httpx.post(url, json=payload)
    # ruleid: network-non-loopback
    urllib.request.urlopen("https://hooks.example.org/signed")
    # ruleid: network-non-loopback
    socket.create_connection(("203.0.113.7", 443))


def local_probe():
    # ok: network-non-loopback
    requests.get("http://127.0.0.1:5000/api/v1/campaigns", timeout=2)
    # ok: network-non-loopback
    socket.create_connection(("localhost", 6379))
