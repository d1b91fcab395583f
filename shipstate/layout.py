"""Where things live under the app root on a server. Pure."""

from dataclasses import dataclass

# configs a release keeps in its .shipstate/ (processes.conf only when the app has processes)
NGINX_CONFIG = "nginx.conf"
PROCESSES_CONFIG = "processes.conf"


@dataclass(frozen=True)
class Layout:
    root: str
    app: str

    @property
    def releases(self) -> str:
        return f"{self.root}/releases"

    @property
    def current(self) -> str:
        return f"{self.root}/current"

    @property
    def shared(self) -> str:
        return f"{self.root}/shared"

    @property
    def secrets(self) -> str:
        """Secrets files by digest, 0600 in a 0700 directory."""
        return f"{self.shared}/.secrets"

    def secret(self, digest: str) -> str:
        return f"{self.secrets}/{digest}"

    @property
    def wheels(self) -> str:
        return f"{self.root}/.cache/wheels"

    @property
    def uv_cache(self) -> str:
        return f"{self.root}/.cache/uv"

    @property
    def tools(self) -> str:
        return f"{self.root}/.tools"

    @property
    def uv(self) -> str:
        return f"{self.tools}/bin/uv"

    @property
    def programs(self) -> str:
        return f"{self.root}/supervisor"

    @property
    def nginx(self) -> str:
        return f"{self.root}/nginx"

    @property
    def nginx_site(self) -> str:
        """The site config nginx includes: a copy of the active release's, replaced atomically."""
        return f"{self.nginx}/site.conf"

    def release_config(self, release_id: int, name: str) -> str:
        """A config the release keeps (NGINX_CONFIG, PROCESSES_CONFIG...)."""
        return f"{self.release(release_id)}/.shipstate/{name}"

    @property
    def nginx_loaded(self) -> str:
        """Holds the sha256 of the site config nginx last reloaded with."""
        return f"{self.root}/.nginx-loaded"

    @property
    def journal(self) -> str:
        """One JSON line per apply / set-active: the host's history."""
        return f"{self.root}/history.jsonl"

    @property
    def logs(self) -> str:
        return f"{self.root}/logs"

    def log(self, release_id: int) -> str:
        """The release's app server log, as our supervisor template writes it."""
        return f"{self.logs}/{self.program(release_id)}.log"

    def process_log(self, name: str) -> str:
        return f"{self.logs}/{self.process_program(name)}.log"

    @property
    def envs(self) -> str:
        return f"{self.root}/envs"

    def env(self, key: str) -> str:
        return f"{self.envs}/{key}"

    def building_env(self, key: str) -> str:
        return f"{self.envs}/.building-{key}"

    def release(self, release_id: int) -> str:
        return f"{self.releases}/{release_id}"

    def building(self, release_id: int) -> str:
        return f"{self.releases}/.building-{release_id}"

    @property
    def processes_file(self) -> str:
        """The app's processes (config.Process) as supervisord loads them: a copy of the active
        release's processes.conf."""
        return f"{self.programs}/{PROCESSES_CONFIG}"

    @property
    def processes_release(self) -> str:
        """Holds the number of the release the processes were last started from."""
        return f"{self.root}/.processes-release"

    def process_program(self, name: str) -> str:
        """A process's supervisord program: `<app>-<name>` (a release's is `<app>-<number>`)."""
        return f"{self.app}-{name}"

    def program(self, release_id: int) -> str:
        return f"{self.app}-{release_id}"

    def program_file(self, release_id: int) -> str:
        return f"{self.programs}/{self.program(release_id)}.conf"

    def socket(self, release_id: int) -> str:
        return f"{self.release(release_id)}/.shipstate/gunicorn.sock"

    def manifest(self, release_dir: str) -> str:
        return f"{release_dir}/.shipstate/manifest.json"

    def made_requirements(self, release_dir: str) -> str:
        """The requirements file made of the app's lock file (Poetry's, Pipenv's)."""
        return f"{release_dir}/.shipstate/requirements.txt"

    def state(self, release_dir: str) -> str:
        """What the release is now (a word); its manifest holds what it was when uploaded."""
        return f"{release_dir}/.shipstate/state"

    def python(self, release_dir: str) -> str:
        return f"{release_dir}/venv/bin/python"
