# tests/lib/regress-tree.sh — PostgreSQL's own regression database of version VER, built inside
# that version's debootstrap tree (tests/lib/trees.sh) by that version's regression suite,
# for contrib/check-regression.sh.  Sourced by bash, as root.
#
#   regress_tree_prepare TREE VER SUITE   once per tree (marker /var/tmp/pgvault-regress-VER/.ok):
#       downloads the postgresql-VER source package of SUITE with a private apt configuration
#       (a deb-src line made from the machine's own archive address; the tree's apt settings
#       are not touched), installs the build tools into the tree (postgresql-server-dev-VER,
#       gcc, make), takes src/test/regress and builds regress.so against the tree's server.
#   regress_tree_run TREE VER PORT DBNAME  runs pg_regress's parallel schedule inside the tree
#       against the server on 127.0.0.1:PORT, creating DBNAME.  Test diffs are expected and
#       harmless: only the database matters.
# Both print what failed, exactly (e.g. the archive's answer for the source tarball).

# The archive's index names a point release whose files the archive does not serve (trixie's
# 17.12 on these machines): take the newest of the five earlier point releases it serves,
# checked as dpkg-source would check it: the .dsc's signature against Debian's keyring of
# maintainers (a Debian package, so checked by apt), the tarball against the signed SHA-256.
regress_tree_earlier() {
	local t="$1" ver="$2" rel="$3" uri="$4" o="$5" listed minor rev m v dsc kr sum name log
	log="$t$rel/source.log"
	# shellcheck disable=SC2086
	listed=$(tree_run "$t" apt-cache $o showsrc "postgresql-$ver" 2>>"$log" | awk '/^Version:/ { print $2; exit }')
	case "$listed" in "$ver".*-*) ;; *) return 1 ;; esac
	minor=${listed#"$ver".}; minor=${minor%%-*}; rev=${listed#*-}
	[ "$minor" -gt 0 ] 2>/dev/null || return 1
	echo "   the archive does not serve $listed: looking for an earlier point release"
	DEBIAN_FRONTEND=noninteractive tree_run "$t" apt-get install -y -q --no-install-recommends \
		debian-keyring gpgv >>"$log" 2>&1 || return 1
	kr=/usr/share/keyrings/debian-keyring.gpg
	[ -f "$t$kr" ] || kr=/usr/share/keyrings/debian-keyring.pgp
	for m in $(seq $((minor - 1)) -1 $((minor > 5 ? minor - 5 : 0))); do
		v="$ver.$m-$rev"; dsc="postgresql-${ver}_$v.dsc"
		tree_run "$t" /usr/lib/apt/apt-helper download-file "$uri/pool/main/p/postgresql-$ver/$dsc" \
			"$rel/$dsc" >>"$log" 2>&1 || continue
		tree_run "$t" gpgv --keyring "$kr" --output "$rel/signed.dsc" "$rel/$dsc" >>"$log" 2>&1 ||
			{ echo "regress-tree: the signature of $dsc does not verify against $kr" >&2; return 1; }
		read -r sum name < <(awk '/^Checksums-Sha256:/ { f = 1; next } f && !/^ / { f = 0 }
			f && $3 ~ /\.orig\.tar\./ { print $1, $3; exit }' "$t$rel/signed.dsc")
		case "$name" in "postgresql-${ver}_$ver.$m.orig.tar."*) ;; *) return 1 ;; esac
		tree_run "$t" /usr/lib/apt/apt-helper download-file "$uri/pool/main/p/postgresql-$ver/$name" \
			"$rel/$name" "SHA256:$sum" >>"$log" 2>&1 || return 1
		echo "   using the regression suite of $v (signature and checksum verified)"
		return 0
	done
	return 1
}

regress_tree_prepare() {
	local t="$1" ver="$2" suite="$3" rel="/var/tmp/pgvault-regress-$2" uri o tarball
	[ -f "$t$rel/.ok" ] && return 0
	uri=$(tree_archive_uri) || return 1
	rm -rf --one-file-system "${t:?}$rel"
	mkdir -p "$t$rel/apt/lists/partial" "$t$rel/apt/empty" || return 1
	printf 'deb-src %s %s main\n' "$uri" "$suite" >"$t$rel/apt/src.list"
	o="-o Dir::Etc::SourceList=$rel/apt/src.list -o Dir::Etc::SourceParts=$rel/apt/empty"
	o="$o -o Dir::State::Lists=$rel/apt/lists -o Acquire::Check-Valid-Until=false"
	echo "   downloading the postgresql-$ver source package ($suite)"
	# shellcheck disable=SC2086
	tree_run "$t" sh -c "cd $rel && apt-get $o update && apt-get $o source --download-only postgresql-$ver" \
		>"$t$rel/source.log" 2>&1 || regress_tree_earlier "$t" "$ver" "$rel" "$uri" "$o" ||
		{ grep -E '^(E|W):' "$t$rel/source.log" | head -5
		  echo "regress-tree: the postgresql-$ver source package of $suite cannot be downloaded from $uri (above: the archive's answer)" >&2
		  return 1; }
	echo "   installing postgresql-server-dev-$ver, gcc, make into the tree"
	DEBIAN_FRONTEND=noninteractive tree_run "$t" apt-get install -y -q --no-install-recommends \
		"postgresql-server-dev-$ver" gcc make libc6-dev >"$t$rel/install.log" 2>&1 ||
		{ tail -5 "$t$rel/install.log"; echo "regress-tree: cannot install the build tools into $t" >&2; return 1; }
	tarball=$(ls "$t$rel"/postgresql-"$ver"_*.orig.tar.* 2>/dev/null | head -1)
	[ -n "$tarball" ] || { echo "regress-tree: no original tarball in $t$rel" >&2; return 1; }
	tar xf "$tarball" -C "$t$rel" --wildcards '*/src/test/regress/*' || return 1
	mv "$t$rel"/postgresql-*/src/test/regress "$t$rel/src" && rm -rf "$t$rel"/postgresql-*/ "$tarball" || return 1
	mkdir -p "$t$rel/lib"
	printf 'MODULES = regress\nPG_CONFIG = /usr/lib/postgresql/%s/bin/pg_config\nPGXS := $(shell $(PG_CONFIG) --pgxs)\ninclude $(PGXS)\n' \
		"$ver" >"$t$rel/src/Makefile.pgvault"
	tree_run "$t" make -C "$rel/src" -f Makefile.pgvault >"$t$rel/build.log" 2>&1 ||
		{ tail -10 "$t$rel/build.log"; echo "regress-tree: building regress.so failed" >&2; return 1; }
	cp "$t$rel/src/regress.so" "$t/usr/lib/postgresql/$ver/lib/autoinc.so" \
		"$t/usr/lib/postgresql/$ver/lib/refint.so" "$t$rel/lib/" || return 1
	chmod -R a+rX "$t$rel"
	touch "$t$rel/.ok"
}

regress_tree_run() {
	local t="$1" ver="$2" port="$3" db="$4" rel="/var/tmp/pgvault-regress-$2" out
	out="$rel/out"
	rm -rf --one-file-system "${t:?}$out"; mkdir -p "$t$out/results"; chmod 1777 "$t$out" "$t$out/results"
	tree_run "$t" runuser -u postgres -- "/usr/lib/postgresql/$ver/lib/pgxs/src/test/regress/pg_regress" \
		--inputdir="$rel/src" --outputdir="$out" --bindir="/usr/lib/postgresql/$ver/bin" \
		--dlpath="$rel/lib" --schedule="$rel/src/parallel_schedule" --dbname="$db" \
		--max-connections="${REGRESS_MAX_CONN:-20}" --host=127.0.0.1 --port="$port" --user=postgres \
		>"$t$out/pg_regress.log" 2>&1
	grep -E 'tests (passed|failed)|of [0-9]+ tests' "$t$out/pg_regress.log" | tail -1
	printf '%s\n' "SELECT 1 FROM pg_catalog.pg_database WHERE datname = :'db';" |
		psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tA -v db="$db" | grep -q 1 ||
		{ tail -5 "$t$out/pg_regress.log"; echo "regress-tree: database $db was not created (see $t$out/pg_regress.log)" >&2; return 1; }
}
