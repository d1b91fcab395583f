"""pyinfra facts: read a host's whole shipstate state in one round trip."""

import json
import shlex

from pyinfra.api import FactBase

from shipstate.observed import ObservedHost, parse_host_state
from shipstate.templates import RELEASE_TEMPLATES

# `lock <seconds since heartbeat> <info.json>`, when a deploy lock is held (run in the app root)
LOCK_LINE = (
    "if [ -d .lock ]; then printf 'lock %s %s\\n' "
    '"$(( $(date +%s) - $(stat -c %Y .lock/heartbeat .lock 2>/dev/null | head -n 1) ))" '
    "\"$(tr -d '\\n' < .lock/info.json 2>/dev/null)\"; fi"
)

_SCRIPT = """\
printf 'python %s\\n' "$({python} -V 2>&1)"
cd {root} 2>/dev/null || {{ echo 'root 0'; exit 0; }}
echo 'root 1'
{lock_line}
printf 'current %s\\n' "$(readlink current 2>/dev/null)"
printf 'nginx %s\\n' "$(cat .nginx-loaded 2>/dev/null)"
printf 'site %s\\n' "$(sha256sum < nginx/site.conf 2>/dev/null | cut -c1-64)"
for d in releases/*/; do
  [ -d "$d" ] || continue
  n=${{d#releases/}}; n=${{n%/}}
  printf 'release %s ' "$n"; tr -d '\\n' < "$d.shipstate/manifest.json" 2>/dev/null; echo
  for f in {configs}; do
    c="$d.shipstate/$f"
    [ -f "$c" ] && printf 'config %s %s %s\\n' "$n" "$f" "$(base64 -w0 "$c")"
  done
done
for d in releases/.building-*; do [ -e "$d" ] && printf 'building %s\\n' "${{d#releases/}}"; done
for d in envs/*/ envs/.building-*/; do [ -d "$d" ] && printf 'env %s\\n' "$(basename "$d")"; done
for f in shared/.secrets/* shared/.secrets/.tmp-*; do
  [ -f "$f" ] && printf 'secret %s\\n' "${{f##*/}}"
done
for f in supervisor/*.conf; do [ -f "$f" ] && printf 'program %s\\n' "${{f#supervisor/}}"; done
{python} -S -c {answering} 2>/dev/null
true
"""

# `running <n>` for each release whose app server accepts connections on its socket (cheaper
# than asking supervisorctl, a Python program, by ~0.2 s per observation)
ANSWERING = """\
import glob, socket
for path in glob.glob("releases/*/.shipstate/gunicorn.sock"):
    probe = socket.socket(socket.AF_UNIX)
    probe.settimeout(2)
    try:
        probe.connect(path)
        print("running", path.split("/")[1])
    except OSError:
        pass
    finally:
        probe.close()
"""


class HostState(FactBase):
    """Releases with their manifests and configs, `current`, leftovers, app server programs."""

    def command(self, root: str, app: str, python: str) -> str:
        configs = " ".join(shlex.quote(name) for name in RELEASE_TEMPLATES)
        return _SCRIPT.format(
            root=shlex.quote(root),
            python=shlex.quote(python),
            answering=shlex.quote(ANSWERING),
            configs=configs,
            lock_line=LOCK_LINE,
        )

    def process(self, output: list[str]) -> list[str]:
        return output

    @staticmethod
    def observe(host_name: str, lines: list[str] | None, app: str) -> ObservedHost:
        return parse_host_state(host_name, lines or [], app)


class HostHistory(FactBase):
    """The last entries of the host's journal (one JSON object per line)."""

    def command(self, journal: str, entries: int) -> str:
        return f"tail -n {int(entries)} {shlex.quote(journal)} 2>/dev/null; true"

    def process(self, output: list[str]) -> list[str]:
        return output

    @staticmethod
    def entries(lines: list[str] | None) -> list[dict]:
        found = []
        for line in lines or []:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
        return found
