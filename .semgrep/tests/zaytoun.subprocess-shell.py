# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
import os
import subprocess


def convert(filename):
    # ruleid: subprocess-shell
    subprocess.run(["convert", filename], shell=True)
    # ruleid: subprocess-shell
    subprocess.run(f"convert {filename} out.png")
    # ruleid: subprocess-shell
    subprocess.check_output("convert " + filename)
    # ruleid: subprocess-shell
    os.system("convert " + filename)
    # ruleid: subprocess-shell
    os.popen("ls")
    # ok: subprocess-shell
    subprocess.run(["convert", filename, "out.png"], check=True)
