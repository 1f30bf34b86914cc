"""A small typed HTTP client for the platform's JSON API (``/api/v1/``), used by ``tenderhall-bid``.

The bidder tool talks to the server through this API only (DESIGN §2). Refusals come back as
RFC 9457 problem+json and are raised as :class:`ApiError`; transport failures are turned into the
same shape so the tool reports every failure one way.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from tenderhall import __version__

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ApiError(Exception):
    """A refusal or failure, as a problem+json mapping (keys code, message_zh, message_en, detail)."""

    def __init__(self, problem: dict[str, Any], *, status: int | None = None) -> None:
        self.problem = problem
        self.status = status if status is not None else problem.get("status")
        super().__init__(f"{self.code}: {self.message_en}")

    @property
    def code(self) -> str:
        return str(self.problem.get("code") or "error")

    @property
    def message_zh(self) -> str:
        return str(self.problem.get("message_zh") or self.problem.get("title") or "")

    @property
    def message_en(self) -> str:
        return str(self.problem.get("message_en") or self.problem.get("title") or "")

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or "")


class ApiClient:
    """``ApiClient("https://hall.example.cn", token=...)``; paths are relative to the server."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        headers = {"User-Agent": f"tenderhall-bid/{__version__}", "Accept": "application/json"}
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, json=payload)

    def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params=params)

    def put_bytes(self, path: str, content: bytes, params: dict[str, str] | None = None) -> dict[str, Any]:
        """A raw body (an upload chunk), sent with its Content-Length."""
        return self._request(
            "PUT",
            path,
            params=params,
            content=content,
            extra_headers={"Content-Type": "application/octet-stream"},
        )

    def delete(self, path: str) -> None:
        self._request("DELETE", path, allow_empty=True)

    def _request(
        self,
        method: str,
        path: str,
        *,
        extra_headers: dict[str, str] | None = None,
        allow_empty: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra_headers or {})
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiError(
                _problem("server_timeout", "服务器响应超时", "The server did not answer in time", str(exc))
            ) from exc
        except httpx.TransportError as exc:
            raise ApiError(
                _problem(
                    "server_unreachable",
                    f"无法连接服务器 {self.server}",
                    f"Cannot reach the server at {self.server}",
                    str(exc),
                )
            ) from exc
        body = _json_or_none(response)
        if response.is_success and allow_empty and not response.content:
            return {}
        if response.is_success:
            if not isinstance(body, dict):
                raise ApiError(
                    _problem(
                        "bad_response",
                        "服务器返回的不是 JSON 对象",
                        "The server's answer is not a JSON object",
                        response.text[:300],
                    ),
                    status=response.status_code,
                )
            return body
        if isinstance(body, dict) and "code" in body:
            raise ApiError(body, status=response.status_code)
        raise ApiError(
            _problem(
                f"http_{response.status_code}",
                f"服务器返回 HTTP {response.status_code}",
                f"The server answered HTTP {response.status_code} {response.reason_phrase}",
                response.text[:300],
            ),
            status=response.status_code,
        )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _problem(code: str, message_zh: str, message_en: str, detail: str = "") -> dict[str, Any]:
    return {"code": code, "message_zh": message_zh, "message_en": message_en, "detail": detail}
