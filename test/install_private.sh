# Sourced by test/run and bench/*.sh: builds nodedb_kv and installs it into a private copy of the
# system's PostgreSQL 15 (binaries, lib/ and share/), never into the system's own tree.
#   . test/install_private.sh && install_private <root> <out> [<owner>]
# <out> is emptied first; the install lands in <out>/install.  PostgreSQL finds lib/ and share/
# relative to its binaries, so the copy is relocatable.  On success INSTALL, BINDIR, PKGLIBDIR and
# SHAREDIR are set, $INSTALL$BINDIR is first on PATH and, when running as root, <out> belongs to
# <owner> (default: postgres), who runs the servers.  Returns non-zero if the build or install fails
# (make's errors are printed).  Needs PG_CONFIG set (or pg_config on PATH).

install_private() {
	local root=$1 out=$2 owner=${3:-postgres} pg_config=${PG_CONFIG:-pg_config}
	make -C "$root" -s -j"$(nproc)" || return 1

	rm -rf "$out"
	INSTALL=$out/install
	BINDIR=$($pg_config --bindir)
	PKGLIBDIR=$($pg_config --pkglibdir)
	SHAREDIR=$($pg_config --sharedir)
	mkdir -p "$INSTALL$(dirname "$PKGLIBDIR")" "$INSTALL$(dirname "$SHAREDIR")"
	cp -a "$(dirname "$PKGLIBDIR")/." "$INSTALL$(dirname "$PKGLIBDIR")/"
	cp -a "$SHAREDIR" "$INSTALL$(dirname "$SHAREDIR")/"
	make -C "$root" -s install DESTDIR="$INSTALL" >/dev/null || return 1
	export PATH=$INSTALL$BINDIR:$PATH
	if [ "$(id -u)" = 0 ]; then chown -R "$owner" "$out"; fi
}
