"""Fixtures for the end-to-end suite. scripts/e2e.sh starts `vllm serve` and exports:
E2E_BASE_URL (http://127.0.0.1:PORT), E2E_API_KEY, E2E_MODEL (served name), E2E_MAX_MODEL_LEN."""
import os

import openai
import pytest


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: run the suite through scripts/e2e.sh", allow_module_level=True)
    return value


@pytest.fixture(scope="session")
def base_url():
    return _env("E2E_BASE_URL")


@pytest.fixture(scope="session")
def api_key():
    return _env("E2E_API_KEY")


@pytest.fixture(scope="session")
def model():
    return _env("E2E_MODEL")


@pytest.fixture(scope="session")
def max_model_len():
    return int(_env("E2E_MAX_MODEL_LEN"))


@pytest.fixture(scope="session")
def client(base_url, api_key):
    # max_retries=0: an error must surface as the first response, not be retried away.
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0, timeout=120)


@pytest.fixture(scope="session")
def async_client(base_url, api_key):
    return openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0, timeout=300)
