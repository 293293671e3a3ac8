"""Downloads go out through FileResponse, which names the file (Content-Disposition);
a streamed CSV reaches it as a read-only file over its chunks."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from django.http import FileResponse
from django.urls import reverse

from okeportal.downloads import ChunkFile
from tests.factories import MemberFactory


def test_a_chunk_file_reads_every_byte_in_order_across_empty_and_long_chunks():
    chunks = [b"", b"abc", b"", "żółć".encode(), b"x" * 10_000, b"", b"end"]
    handle = ChunkFile(chunks)
    pieces = list(iter(lambda: handle.read(4096), b""))
    assert b"".join(pieces) == b"".join(chunks)
    assert max(len(p) for p in pieces) <= 4096
    assert handle.read(10) == b""


def test_closing_a_chunk_file_closes_the_generator_it_reads():
    closed: list[bool] = []

    def rows() -> Iterator[bytes]:
        try:
            yield b"a;b\r\n"
            yield b"c;d\r\n"
        finally:
            closed.append(True)

    handle = ChunkFile(rows())
    assert handle.read(3) == b"a;b"
    handle.close()
    assert closed == [True] and handle.closed


def test_a_streamed_csv_export_is_an_attachment_named_by_file_response(client, coordinator, cluster):
    MemberFactory(cluster=cluster, name="Piekarnia Żółć")
    client.force_login(coordinator)
    response = client.get(reverse("members:member-export", kwargs={"cluster_slug": cluster.slug, "fmt": "csv"}))
    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="oke-czlonkowie-') and disposition.endswith('.csv"')
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Piekarnia Żółć" in body


def test_the_example_registry_files_are_an_attachment(client, coordinator, cluster):
    client.force_login(coordinator)
    response = client.get(reverse("members:registry-examples", kwargs={"cluster_slug": cluster.slug}))
    assert isinstance(response, FileResponse)
    assert response["Content-Disposition"] == 'attachment; filename="rejestr-przyklad.zip"'
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert "members.csv" in names


def test_a_members_hourly_csv_is_an_attachment_named_after_the_member_and_period(client, alice):
    client.force_login(alice)
    response = client.get(reverse("portal:data-csv"), {"start": "2026-03-01", "end": "2026-03-02"})
    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="dane-godzinowe-alice-20260301-20260302.csv"'
    assert b"".join(response.streaming_content).decode("utf-8-sig").startswith("PPE;")
