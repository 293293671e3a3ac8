"""Every page carries a Content-Security-Policy without 'unsafe-inline' scripts; inline scripts carry its nonce."""

from __future__ import annotations

import re

from django.template.loader import get_template


def test_pages_send_a_policy_without_unsafe_inline_scripts(client, coordinator, cluster) -> None:
    client.force_login(coordinator)
    for url in (f"/c/{cluster.slug}/", f"/c/{cluster.slug}/settlements/"):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", policy).group(1)
        assert "'unsafe-inline'" not in script_src and "frame-ancestors 'none'" in policy
    # The settlement list has an inline script: it carries this response's nonce.
    nonce = re.search(r"'nonce-([^']+)'", script_src).group(1)
    assert f'<script nonce="{nonce}">' in response.content.decode()


def test_no_template_has_an_inline_script_without_the_nonce_or_an_inline_handler() -> None:
    from pathlib import Path

    root = Path(get_template("base.html").origin.name).parent
    offenders = []
    for path in root.rglob("*.html"):
        if "pdf" in path.parts:
            continue  # PDF templates are rendered by WeasyPrint, never served to a browser
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)([^>]*)>", text):
            if "csp_nonce" not in match.group(1):
                offenders.append(f"{path.relative_to(root)}: inline <script> without nonce")
        if re.search(r"\son[a-z]+=\"", text):
            offenders.append(f"{path.relative_to(root)}: inline event handler")
    assert offenders == []
