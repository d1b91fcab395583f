"""[tls]: nginx serves the site over HTTPS with a certificate already on the servers."""

import http.client
import ssl

from conftest import commit, host_addresses, ok, on_host, set_version

INVENTORY = ("-i", "inventories/sandbox.py")
CERTIFICATE = "/etc/ssl/shipstate-test/hello.pem"
KEY = "/etc/ssl/shipstate-test/hello.key"


def fetch(scheme: str, address: str, path: str) -> tuple[int, str, dict]:
    """One request, no redirect followed; HTTPS without checking the self-signed certificate."""
    if scheme == "https":
        tls = ssl._create_unverified_context()
        conn = http.client.HTTPSConnection(address, timeout=10, context=tls)
    else:
        conn = http.client.HTTPConnection(address, timeout=10)
    conn.request("GET", path, headers={"Host": "localhost"})
    answer = conn.getresponse()
    return answer.status, answer.read().decode(errors="replace"), dict(answer.getheaders())


def test_https_with_a_certificate_on_the_servers(app):
    """The app insists on HTTPS (SECURE_SSL_REDIRECT): its health checks, the switch and a
    rollback work over TLS; plain HTTP is redirected, except certbot's webroot challenges. The
    app sets no SECURE_PROXY_SSL_HEADER: gunicorn tells it the scheme nginx says (else each
    request over HTTPS would be redirected to itself)."""
    for address in host_addresses():
        made = on_host(
            address,
            "mkdir -p /etc/ssl/shipstate-test && openssl req -x509 -newkey rsa:2048 -nodes "
            f"-keyout {KEY} -out {CERTIFICATE} -days 2 -subj /CN=localhost 2>&1 && "
            "mkdir -p /srv/hello/acme/.well-known/acme-challenge && "
            "echo proof > /srv/hello/acme/.well-known/acme-challenge/token",
        )
        assert made.returncode == 0, made.stdout
    config = app / "shipstate.toml"
    config.write_text(
        config.read_text().replace("[env]\n", '[env]\nDJANGO_SECURE_SSL_REDIRECT = "1"\n')
        + f'\n[tls]\ncertificate = "{CERTIFICATE}"\nkey = "{KEY}"\n'
    )
    commit(app, "served over HTTPS")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    set_version(app, "2")
    ok("apply", *INVENTORY, "--yes", cwd=app)
    ok("set-active", "previous", *INVENTORY, "--yes", cwd=app)
    for address in host_addresses():
        status, body, _ = fetch("https", address, "/")
        assert status == 200 and "hello version 1" in body, (status, body)
        status, _, headers = fetch("http", address, "/healthz?x=1")
        assert status == 301 and headers["Location"] == "https://localhost/healthz?x=1"
        status, body, _ = fetch("http", address, "/.well-known/acme-challenge/token")
        assert (status, body) == (200, "proof\n")
        status, _, headers = fetch("https", address, "/static/pages/style.css")
        assert status == 200 and "css" in headers["Content-Type"]
