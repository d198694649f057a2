"""End-to-end checks of `vllm serve` through the official openai client."""
import asyncio
import re
import time

import openai
import pytest
import requests

PROMPT = "Once upon a time"


def test_models_list(client, model, max_model_len):
    models = client.models.list().data
    assert [m.id for m in models][0] == model
    assert models[0].object == "model"
    assert getattr(models[0], "max_model_len") == max_model_len


def test_completion_usage_and_finish(client, model):
    result = client.completions.create(model=model, prompt=PROMPT, max_tokens=5, temperature=0)
    choice = result.choices[0]
    assert result.object == "text_completion"
    assert result.id.startswith("cmpl-")
    assert choice.finish_reason in ("length", "stop")
    usage = result.usage
    assert usage.prompt_tokens > 0
    assert 1 <= usage.completion_tokens <= 5
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_max_tokens_exact_with_ignore_eos(client, model):
    result = client.completions.create(model=model, prompt=PROMPT, max_tokens=7, temperature=0,
                                       extra_body={"ignore_eos": True})
    assert result.usage.completion_tokens == 7
    assert result.choices[0].finish_reason == "length"


def test_stream_equals_non_stream_at_temperature_zero(client, model):
    kwargs = dict(model=model, prompt=PROMPT, max_tokens=12, temperature=0, extra_body={"ignore_eos": True})
    full = client.completions.create(**kwargs).choices[0].text
    chunks = list(client.completions.create(stream=True, **kwargs))
    assert "".join(c.choices[0].text for c in chunks) == full
    assert sum(1 for c in chunks if c.choices[0].finish_reason is not None) == 1


def test_stream_include_usage(client, model):
    chunks = list(client.completions.create(model=model, prompt=PROMPT, max_tokens=4, temperature=0, stream=True,
                                            stream_options={"include_usage": True},
                                            extra_body={"ignore_eos": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 4
    assert all(c.usage is None for c in chunks[:-1])


def test_n2_and_prompt_list(client, model):
    result = client.completions.create(model=model, prompt=[PROMPT, "The cat"], n=2, max_tokens=4,
                                       temperature=1.0, seed=3, extra_body={"ignore_eos": True})
    assert sorted(c.index for c in result.choices) == [0, 1, 2, 3]
    assert all(c.finish_reason == "length" for c in result.choices)
    assert result.usage.completion_tokens == 4 * 4
    single = [client.completions.create(model=model, prompt=p, max_tokens=1).usage.prompt_tokens
              for p in (PROMPT, "The cat")]
    assert result.usage.prompt_tokens == sum(single)
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


def test_stop_string(client, model):
    base = client.completions.create(model=model, prompt=PROMPT, max_tokens=24, temperature=0,
                                     extra_body={"ignore_eos": True}).choices[0].text
    words = [w for w in re.findall(r"[A-Za-z]{2,}", base)]
    if len(words) < 2:
        pytest.skip(f"greedy output has too few words to pick a stop string: {base!r}")
    stop = words[1]
    result = client.completions.create(model=model, prompt=PROMPT, max_tokens=24, temperature=0, stop=[stop],
                                       extra_body={"ignore_eos": True})
    choice = result.choices[0]
    assert choice.finish_reason == "stop"
    assert stop not in choice.text
    assert base.startswith(choice.text)
    assert getattr(choice, "stop_reason") == stop


def test_completion_logprobs(client, model):
    result = client.completions.create(model=model, prompt=PROMPT, max_tokens=5, temperature=0, logprobs=2,
                                       extra_body={"ignore_eos": True})
    lp = result.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == 5
    assert all(v <= 0 for v in lp.token_logprobs)
    assert all(2 <= len(t) <= 3 for t in lp.top_logprobs)
    assert lp.text_offset[0] == 0


def test_chat_non_stream_and_stream(client, model):
    messages = [{"role": "user", "content": "Tell me a story."}]
    result = client.chat.completions.create(model=model, messages=messages, max_tokens=8, temperature=0,
                                            extra_body={"ignore_eos": True})
    assert result.object == "chat.completion"
    assert result.choices[0].message.role == "assistant"
    assert result.usage.completion_tokens == 8
    full = result.choices[0].message.content
    chunks = list(client.chat.completions.create(model=model, messages=messages, max_tokens=8, temperature=0,
                                                 stream=True, extra_body={"ignore_eos": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == full
    assert [c.choices[0].finish_reason for c in chunks][-1] == "length"


def test_chat_logprobs(client, model):
    result = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}],
                                            max_tokens=3, temperature=0, logprobs=True, top_logprobs=2,
                                            extra_body={"ignore_eos": True})
    content = result.choices[0].logprobs.content
    assert len(content) == 3
    assert all(len(entry.top_logprobs) == 2 and entry.logprob <= 0 for entry in content)


def test_bad_request(client, model):
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=model, prompt=PROMPT, temperature=-1)
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=model, prompt="", max_tokens=3)


def test_context_length_error(client, model, max_model_len):
    with pytest.raises(openai.BadRequestError) as info:
        client.completions.create(model=model, prompt="hello " * (max_model_len * 2), max_tokens=3)
    assert "maximum context length is" in str(info.value)


def test_unknown_model(client):
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="no-such-model", prompt=PROMPT, max_tokens=2)


def test_bad_api_key(base_url, model):
    bad = openai.OpenAI(base_url=f"{base_url}/v1", api_key="wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    assert requests.get(f"{base_url}/health", timeout=5).status_code == 200


def test_64_concurrent_streams(async_client, model):
    async def one(i):
        stream = await async_client.completions.create(model=model, prompt=f"{PROMPT} {i}", max_tokens=16,
                                                       temperature=0.8, seed=i, stream=True,
                                                       extra_body={"ignore_eos": True})
        finishes, text = [], ""
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].text
                if chunk.choices[0].finish_reason:
                    finishes.append(chunk.choices[0].finish_reason)
        return finishes

    async def main():
        return await asyncio.gather(*(one(i) for i in range(64)))

    results = asyncio.run(main())
    assert len(results) == 64
    assert all(f == ["length"] for f in results)


def _metric(base_url, name):
    text = requests.get(f"{base_url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} missing from /metrics")


def test_disconnect_frees_kv_blocks(base_url, api_key, model):
    body = {"model": model, "prompt": PROMPT, "max_tokens": 200, "stream": True, "ignore_eos": True}
    headers = {"Authorization": f"Bearer {api_key}"}
    with requests.post(f"{base_url}/v1/completions", json=body, headers=headers, stream=True, timeout=60) as r:
        assert r.status_code == 200
        seen = 0
        for line in r.iter_lines():
            if line.startswith(b"data: "):
                seen += 1
            if seen >= 3:
                break
        assert _metric(base_url, "vllm:num_requests_running") >= 1 or seen >= 3
    deadline = time.time() + 10
    while time.time() < deadline:
        if _metric(base_url, "vllm:kv_cache_usage_perc") == 0 and _metric(base_url, "vllm:num_requests_running") == 0:
            break
        time.sleep(0.1)
    assert _metric(base_url, "vllm:num_requests_running") == 0
    assert _metric(base_url, "vllm:kv_cache_usage_perc") == 0


def _success(base_url, reason):
    text = requests.get(f"{base_url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith("vllm:request_success_total{") and f'finished_reason="{reason}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"request_success_total{{finished_reason={reason}}} missing from /metrics")


def test_non_streaming_disconnect_aborts(base_url, api_key, model, max_model_len):
    """A non-streaming request whose client hangs up is aborted, not run to max_tokens."""
    import json
    import socket
    from urllib.parse import urlparse

    n, max_tokens = 64, max_model_len - 16
    body = json.dumps({"model": model, "prompt": PROMPT, "max_tokens": max_tokens, "n": n,
                       "ignore_eos": True}).encode()
    url = urlparse(base_url)
    aborted_before = _success(base_url, "abort")
    generated_before = _metric(base_url, "vllm:generation_tokens_total")
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Authorization: Bearer {api_key}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    deadline = time.time() + 30
    while _metric(base_url, "vllm:num_requests_running") < 1 and time.time() < deadline:
        time.sleep(0.02)
    sock.close()
    deadline = time.time() + 10
    while _metric(base_url, "vllm:num_requests_running") > 0 and time.time() < deadline:
        time.sleep(0.05)
    assert _metric(base_url, "vllm:num_requests_running") == 0
    assert _metric(base_url, "vllm:kv_cache_usage_perc") == 0
    assert _success(base_url, "abort") - aborted_before == n
    assert _metric(base_url, "vllm:generation_tokens_total") - generated_before < n * max_tokens


def test_client_hanging_up_mid_body_leaves_the_server_healthy(base_url, api_key):
    """Bodies cut short (declared length, chunked) and an oversized body: no crash, the server answers."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(base_url)
    head = f"Host: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {api_key}\r\n"
    cut_short = [
        f"POST /v1/completions HTTP/1.1\r\n{head}Content-Length: 500\r\n\r\n" + '{"prompt": "Once',
        f"POST /v1/chat/completions HTTP/1.1\r\n{head}Transfer-Encoding: chunked\r\n\r\n10\r\n" + '{"messages": [',
    ]
    for raw in cut_short:
        sock = socket.create_connection((url.hostname, url.port), timeout=10)
        sock.sendall(raw.encode())
        time.sleep(0.1)
        sock.close()
    big = ('{"prompt": "' + "z" * 40_000_000 + '"}').encode()
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    sock.sendall(f"POST /v1/completions HTTP/1.1\r\n{head}Transfer-Encoding: chunked\r\n\r\n".encode())
    for start in range(0, len(big), 1 << 20):
        chunk = big[start:start + (1 << 20)]
        sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    sock.sendall(b"0\r\n\r\n")
    status_line = sock.recv(64).split(b"\r\n")[0]
    sock.close()
    assert status_line.startswith(b"HTTP/1.1 413 "), status_line
    assert requests.get(f"{base_url}/health", timeout=5).status_code == 200


def test_metrics_names(base_url):
    text = requests.get(f"{base_url}/metrics", timeout=5).text
    for name in ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                 "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:request_success_total",
                 "vllm:time_to_first_token_seconds_bucket", "vllm:e2e_request_latency_seconds_count"]:
        assert name in text, name
    assert 'model_name="' in text


def test_tokenize_detokenize(base_url, model):
    tokens = requests.post(f"{base_url}/tokenize", json={"model": model, "prompt": PROMPT}, timeout=5).json()
    assert tokens["count"] == len(tokens["tokens"]) > 0
    text = requests.post(f"{base_url}/detokenize", json={"model": model, "tokens": tokens["tokens"]}, timeout=5).json()
    assert PROMPT in text["prompt"]


def test_version_and_health(base_url):
    assert requests.get(f"{base_url}/health", timeout=5).status_code == 200
    assert "version" in requests.get(f"{base_url}/version", timeout=5).json()


def test_spec_decode_metrics_when_speculating(base_url, client, model):
    """With --speculative-config the vllm:spec_decode_* counters are exposed and count real drafts."""
    import os

    if os.environ.get("E2E_SPECULATIVE") != "1":
        pytest.skip("this server runs without --speculative-config")
    prompt = "Once upon a time, there was a little girl named Lily. Lily"
    client.completions.create(model=model, prompt=prompt, max_tokens=48, temperature=0)
    assert _metric(base_url, "vllm:spec_decode_num_drafts_total") > 0
    assert _metric(base_url, "vllm:spec_decode_num_draft_tokens_total") >= _metric(
        base_url, "vllm:spec_decode_num_accepted_tokens_total")

