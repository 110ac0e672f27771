"""A legacy app with no authentication of its own, as auth-sidecar finds it.

It listens on 127.0.0.1 only (the sidecar is the pod's front door) and shows the identity
headers the sidecar injects. It trusts them because nothing but the sidecar can reach it.
"""

import os

from flask import Flask, jsonify, request

# No static folder: Flask would answer /static/... itself (404), and the examples' public route
# /static/** is meant to reach the catch-all below like any other path.
app = Flask(__name__, static_folder=None)

IDENTITY_HEADERS = (
    "X-Forwarded-User",
    "X-Forwarded-Email",
    "X-Forwarded-Groups",
    "X-Forwarded-Preferred-Username",
    "X-Forwarded-Access-Token",
)
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Request-Id")


def identity():
    found = {name: request.headers.get(name) for name in IDENTITY_HEADERS if name in request.headers}
    if "X-Forwarded-Access-Token" in found:
        found["X-Forwarded-Access-Token"] = "(present, not shown)"
    return found


@app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def show(path):
    groups = request.headers.get("X-Forwarded-Groups", "")
    return jsonify(
        app="legacy-flask",
        path="/" + path,
        method=request.method,
        user=request.headers.get("X-Forwarded-User"),
        groups=[g for g in groups.split(",") if g],
        identity_headers=identity(),
        forwarding_headers={n: request.headers.get(n) for n in FORWARDING_HEADERS if n in request.headers},
    )


@app.route("/healthz")
def healthz():
    return "ok\n"


if __name__ == "__main__":
    # 127.0.0.1 only: in the pod, only the sidecar (same network namespace) can reach it.
    app.run(host=os.environ.get("FLASK_HOST", "127.0.0.1"), port=int(os.environ.get("FLASK_PORT", "5000")))
