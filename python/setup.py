# `pip install ./python`: standard library only, and no build dependency to download — pip
# builds it with the setuptools and wheel already installed (Debian: python3-setuptools,
# python3-wheel), so it installs offline.
from setuptools import setup

setup(
    name="hive-run",
    version="0.1.0",
    description="The seeds' SecureScriptExecutor and SecureRunner API, driving the hive-run "
                "sandbox",
    packages=["hive_run"],
    python_requires=">=3.9",
)
