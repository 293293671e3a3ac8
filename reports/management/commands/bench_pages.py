"""``manage.py bench_pages --members 1000 [--seconds 60] [--users 50] [--workers W]``: page latency under load.

Builds (once; later runs reuse it) the cluster ``bench-pages<N>``: N members
with one PPE each (every third with PV, see ``bench_cluster_create``), last
calendar year of hourly meter data, a finished yearly settlement and its
statement rows. Then it starts gunicorn on a loopback port with W sync workers
(production settings: DEBUG off), logs in ``--users`` concurrent users in
threads (``--member-users`` of them member accounts, the rest cluster staff),
and each user requests a main page, waits a think time drawn uniformly from
``--think-min``..``--think-max`` seconds, and repeats until ``--seconds`` are
up. Prints p50/p95/max and errors per page. Use PostgreSQL
(DATABASE_URL); the run needs migrate, load_reference_data done.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import math
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from members.models import Cluster, Gmina, Member, MeteringPoint
from members.services.consents import consent_texts_in_force, consents_accept
from members.services.datastamp import conditions_invalidate
from reports.management.commands.bench_settlement import bench_cluster_create
from reports.models import JobStatus, MeterDay, SettlementRun

PASSWORD = "bench-pages-password"  # throwaway accounts of the benchmark cluster
STAFF_PAGES = (
    "dashboard", "member list", "member detail", "PPE list", "settlement list", "settlement detail",
    "statements list", "completeness",
)
MEMBER_PAGES = ("member portal home",)
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Results:
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.samples[page].append(seconds)
            if error:
                self.errors[page].append(error)


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs) -> None:  # a 302 is an answer, not a hop
        return None


class _User:
    """One browser (standard library only): a cookie jar whose cookies go over plain HTTP to the loopback server."""

    def __init__(self, base: str, username: str) -> None:
        self.base, self.username = base, username
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect())

    def _unsecure_cookies(self) -> None:
        # DEBUG off marks the session cookie Secure; the loopback server is plain HTTP.
        for cookie in self.cookies:
            cookie.secure = False

    def _request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, bytes]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                status, content = response.status, response.read()  # the whole page, as a browser waits for it
        except urllib.error.HTTPError as exc:  # 3xx (not followed), 4xx, 5xx
            status, content = exc.code, exc.read()
        self._unsecure_cookies()
        return status, content

    def login(self) -> None:
        status, page = self._request(reverse("login"))
        token = CSRF_FIELD.search(page.decode())
        if status != 200 or token is None:
            raise CommandError(f"login page for {self.username}: HTTP {status}")
        status, _ = self._request(
            reverse("login"), {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
        )
        if status != 302:
            raise CommandError(f"login of {self.username}: HTTP {status}")

    def get(self, path: str) -> tuple[float, str | None]:
        t0 = time.perf_counter()
        try:
            status, body = self._request(path)
        except OSError as exc:
            return time.perf_counter() - t0, type(exc).__name__
        elapsed = time.perf_counter() - t0
        if status != 200 or not body:
            return elapsed, f"HTTP {status}"
        return elapsed, None


class Command(BaseCommand):
    help = "Benchmark: latency of the main pages with concurrent logged-in users against gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", type=int, default=1000)
        parser.add_argument("--seconds", type=int, default=60, help="measured load time")
        parser.add_argument("--users", type=int, default=50, help="concurrent users (threads)")
        parser.add_argument("--member-users", type=int, default=10, help="how many of them are member accounts")
        parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--think-min", type=float, default=2.0, help="think time between requests, s")
        parser.add_argument("--think-max", type=float, default=8.0)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **opts) -> None:
        out = self.stdout.write
        if not Gmina.objects.filter(terc="2408031").exists():
            raise CommandError("Reference data missing: run manage.py migrate and manage.py load_reference_data first.")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("Unapplied migrations: run manage.py migrate first.")
        call_command("createcachetable", verbosity=0)
        cluster, run = self._bench_cluster(opts["members"])
        n_staff = opts["users"] - opts["member_users"]
        usernames = self._accounts(cluster, staff=n_staff, members=opts["member_users"])
        paths = self._paths(cluster, run)
        out(
            f"database {connection.vendor}, cluster {cluster.slug}: {Member.objects.filter(cluster=cluster).count()} members, "
            f"{MeteringPoint.objects.filter(cluster=cluster).count()} PPEs, "
            f"{MeterDay.objects.filter(ppe__cluster=cluster).count():,} meter day rows, settlement run {run.pk}"
        )
        base = f"http://127.0.0.1:{opts['port']}"
        server = self._gunicorn(opts["port"], opts["workers"])
        try:
            self._wait_healthy(base, server)
            self._warm_up(base, usernames["staff"][0], usernames["member"][:1], paths, opts["workers"])
            out(
                f"load: {opts['users']} users ({n_staff} staff, {opts['member_users']} members), gunicorn {opts['workers']} "
                f"sync workers, think time uniform {opts['think_min']:g}–{opts['think_max']:g} s, {opts['seconds']} s; "
                f"load average before {_loadavg()}"
            )
            results = self._load(base, usernames, paths, opts)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        self._report(results, opts["seconds"])

    # --- data ---------------------------------------------------------------

    def _bench_cluster(self, n: int) -> tuple[Cluster, SettlementRun]:
        """The benchmark cluster, built step by step on first use (each step skipped when done)."""
        from reports.metering.store import meter_blocks_upsert
        from reports.metering.synthetic import synthetic_readings
        from reports.settlement import settlement_request
        from reports.settlement.tasks import settlement_run_task
        from reports.statements.services import statements_prepare

        year = dt.date.today().year - 1  # the last full year: the dashboard's measured figures read it
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        tag = f"pages{n}"
        cluster = Cluster.objects.filter(slug=f"bench-{tag}").first()
        if cluster is None:
            self.stdout.write(f"building {n} members with one PPE each …")
            cluster = bench_cluster_create(n_ppe=n, start=start, ppe_per_member=1, tag=tag)
        if not MeterDay.objects.filter(ppe__cluster=cluster).exists():
            self.stdout.write(f"storing hourly meter data {start} – {end} …")
            ppes = list(MeteringPoint.objects.filter(cluster=cluster).prefetch_related("generators").order_by("pk"))
            for i in range(0, len(ppes), 100):
                meter_blocks_upsert(blocks=list(synthetic_readings(ppes=ppes[i : i + 100], start=start, end=end, seed=7)))
        run = SettlementRun.objects.filter(cluster=cluster, status=JobStatus.DONE).order_by("-version").first()
        if run is None:
            self.stdout.write("settling the year …")
            run = settlement_request(cluster=cluster, period_start=start, period_end=end,
                                     period_kind=SettlementRun.PeriodKind.YEAR, dispatch=False)
            settlement_run_task(run.pk)
            run.refresh_from_db()
            if run.status != JobStatus.DONE:
                raise CommandError(f"settlement failed: {run.error_text}")
        statements_prepare(run=run)
        # The build writes in bulk (no history rows): drop any cached status.
        conditions_invalidate(cluster_ids=[cluster.pk])
        return cluster, run

    def _accounts(self, cluster: Cluster, *, staff: int, members: int) -> dict[str, list[str]]:
        User = get_user_model()
        password = make_password(PASSWORD)  # hashed once: the accounts share it
        names = {"staff": [f"bench-staff-{i}" for i in range(staff)], "member": [f"bench-member-{i}" for i in range(members)]}
        existing = set(User.objects.filter(username__in=names["staff"] + names["member"]).values_list("username", flat=True))
        User.objects.bulk_create(User(username=u, password=password) for u in names["staff"] + names["member"] if u not in existing)
        users = {u.username: u for u in User.objects.filter(username__in=names["staff"] + names["member"])}
        cluster.staff.add(*(users[u] for u in names["staff"]))
        for i, member in enumerate(Member.objects.filter(cluster=cluster).order_by("pk")[:members]):
            if member.user_id != users[names["member"][i]].pk:
                Member.objects.filter(user=users[names["member"][i]]).update(user=None)
                member.user = users[names["member"][i]]
                member.save(update_fields=["user"])
            # The simulated members have confirmed the consent texts in force, as real ones have after
            # their first login; otherwise every portal view is the consent page.
            in_force = list(consent_texts_in_force().values_list("pk", flat=True))
            consents_accept(member=member, user=users[names["member"][i]], text_ids=in_force)
        return names

    def _paths(self, cluster: Cluster, run: SettlementRun) -> dict[str, object]:
        slug = cluster.slug
        member_ids = list(Member.objects.filter(cluster=cluster).values_list("pk", flat=True))
        return {
            "dashboard": reverse("members:dashboard", args=[slug]),
            "member list": reverse("members:member-list", args=[slug]),
            "member detail": lambda rng: reverse("members:member-detail", args=[slug, rng.choice(member_ids)]),
            "PPE list": reverse("members:ppe-list", args=[slug]),
            "settlement list": reverse("reports:settlement-list", args=[slug]),
            "settlement detail": reverse("reports:settlement-detail", args=[slug, run.pk]),
            "statements list": reverse("reports:statement-list", args=[slug, run.pk]),
            "completeness": reverse("reports:completeness", args=[slug]),
            "member portal home": reverse("portal:home"),
        }

    # --- server ---------------------------------------------------------------

    def _gunicorn(self, port: int, workers: int) -> subprocess.Popen:
        env = {
            # A throwaway key unless one is set: sessions only need to outlive the run.
            "SECRET_KEY": secrets.token_urlsafe(64),
            **os.environ, "DEBUG": "False", "SECURE_SSL_REDIRECT": "False", "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "okeportal.settings",
            # Every simulated user logs in from 127.0.0.1: lift the per-address login limit.
            "OKE_LOGIN_RATE_PER_IP": "10000/m",
        }
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and "DATABASE_URL" not in env:
            self.stderr.write("SQLite: figures are not comparable with PostgreSQL ones.")
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "okeportal.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--timeout", "60", "--log-level", "warning"],
            cwd=settings.BASE_DIR, env=env,
        )

    def _wait_healthy(self, base: str, server: subprocess.Popen) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"gunicorn exited with {server.returncode}")
            try:
                with urllib.request.urlopen(base + reverse("health"), timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:  # refused while gunicorn starts, or 503
                pass
            time.sleep(0.5)
        raise CommandError("gunicorn did not answer /health/ within 60 s")

    def _warm_up(self, base: str, staff: str, members: list[str], paths: dict[str, object], workers: int) -> None:
        """Each page a few times before measuring (imports, connections, the status copy); not counted."""
        rng = random.Random(0)
        user = _User(base, staff)
        user.login()
        for _ in range(workers):
            for page in STAFF_PAGES:
                path = paths[page]
                user.get(path(rng) if callable(path) else path)
        for name in members:
            member = _User(base, name)
            member.login()
            member.get(paths["member portal home"])  # type: ignore[arg-type]

    # --- load -----------------------------------------------------------------

    def _load(self, base: str, usernames: dict[str, list[str]], paths: dict[str, object], opts: dict) -> Results:
        """Everyone logs in first (password hashing is the costly part of a login), then the timed browsing."""
        results = Results()
        think_min, think_max = opts["think_min"], opts["think_max"]
        window: dict[str, float] = {}
        everyone = len(usernames["staff"]) + len(usernames["member"])
        logged_in = threading.Barrier(everyone, action=lambda: window.update(stop=time.monotonic() + opts["seconds"]))

        def browse(username: str, pages: tuple[str, ...], seed: int) -> None:
            rng = random.Random(seed)
            user = _User(base, username)
            try:
                user.login()
            except (CommandError, OSError) as exc:
                results.add("login", 0.0, str(exc))
                logged_in.wait()
                return
            logged_in.wait()
            time.sleep(rng.uniform(0, think_max))  # first clicks spread over one think time
            while time.monotonic() < window["stop"]:
                page = rng.choice(pages)
                path = paths[page]
                seconds, error = user.get(path(rng) if callable(path) else path)  # type: ignore[operator]
                results.add(page, seconds, error)
                time.sleep(rng.uniform(think_min, think_max))

        threads = [
            threading.Thread(target=browse, args=(name, STAFF_PAGES, opts["seed"] * 1000 + i), daemon=True)
            for i, name in enumerate(usernames["staff"])
        ] + [
            threading.Thread(target=browse, args=(name, MEMBER_PAGES, opts["seed"] * 1000 + 500 + i), daemon=True)
            for i, name in enumerate(usernames["member"])
        ]
        t0 = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=opts["seconds"] + think_max + 300)
        self.stdout.write(
            f"logins took {window.get('stop', time.monotonic()) - opts['seconds'] - t0:.1f} s (not timed as pages)"
        )
        return results

    def _report(self, results: Results, seconds: int) -> None:
        out = self.stdout.write
        out(f"load average after {_loadavg()}")
        out(f"{'page':<20} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>7}")
        total = errors = 0
        for page in (*STAFF_PAGES, *MEMBER_PAGES):
            values = results.samples.get(page, [])
            failed = results.errors.get(page, [])
            total, errors = total + len(values), errors + len(failed)
            if not values:
                out(f"{page:<20} {0:>8} {'—':>8} {'—':>8} {'—':>8} {len(failed):>7}")
                continue
            out(
                f"{page:<20} {len(values):>8} {_percentile(values, 0.5) * 1000:>8.0f} "
                f"{_percentile(values, 0.95) * 1000:>8.0f} {max(values) * 1000:>8.0f} {len(failed):>7}"
            )
        for page, failed in results.errors.items():
            out(f"  {page}: {len(failed)} errors, e.g. {', '.join(sorted(set(failed))[:3])}")
        out(f"{total} requests in {seconds} s ({total / seconds:.1f}/s), {errors} errors")
