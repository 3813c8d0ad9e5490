"""A throwaway PostgreSQL cluster for the benchmarks, started with test/lib/cluster.sh (initdb and
the server run as the `postgres` OS user when we are root) and tuned for a one-client,
one-thread comparison."""
import os
import shutil
import subprocess

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLUSTER_SH = os.path.join(TOP, "test", "lib", "cluster.sh")
DEFAULT_BINDIR = "/usr/lib/postgresql/15/bin"


def _as_postgres(cmd):
    return (["runuser", "-u", "postgres", "--"] + cmd) if os.geteuid() == 0 else cmd


class Cluster:
    def __init__(self, datadir, bindir=None, settings=None, unix_socket=False):
        self.datadir = os.path.abspath(datadir)
        self.bindir = bindir or DEFAULT_BINDIR
        self.settings = dict(settings or {})
        self.port = None
        # A local client's usual way in (cluster.sh itself listens on TCP only): the socket goes
        # in the directory that holds the data directory, which cluster.sh gives to postgres.
        self.host = "127.0.0.1"
        if unix_socket:
            self.host = os.path.dirname(self.datadir)
            self.settings["unix_socket_directories"] = self.host

    def start(self):
        if os.path.exists(self.datadir):
            self.stop()
            shutil.rmtree(self.datadir)
        script = 'source "$1" && cluster_start "$2" "$3" >&2 && echo "$PGPORT"'
        out = subprocess.run(["bash", "-c", script, "_", CLUSTER_SH, self.datadir, self.bindir],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        self.port = int(out.strip().splitlines()[-1])
        # Settings that need a restart go in postgresql.conf after cluster.sh's own lines.
        conf = os.path.join(self.datadir, "postgresql.conf")
        lines = ["%s = '%s'" % (k, v) for k, v in self.settings.items()]
        subprocess.run(_as_postgres(["sh", "-c", 'cat >> "$1"', "_", conf]), check=True,
                       input="\n".join(lines) + "\n", text=True)
        subprocess.run(_as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir,
                                     "-l", self.datadir + ".log", "-w", "-t", "120", "restart"]),
                       check=True, stdout=subprocess.DEVNULL)
        os.environ.update(PGHOST=self.host, PGPORT=str(self.port), PGUSER="postgres",
                          PGDATABASE="postgres")
        return self

    def stop(self):
        if os.path.isdir(self.datadir):
            subprocess.run(["bash", "-c", 'source "$1" && cluster_stop "$2" "$3"', "_",
                            CLUSTER_SH, self.datadir, self.bindir], check=False)

    def remove(self):
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)
