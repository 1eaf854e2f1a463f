# tests/lib/s3.sh — a throwaway S3-compatible server for the tests, and a fault-injecting
# proxy in front of it.
#
#   s3_start DIR     start @20minutes/s3rver 5.0.0 (installed with npm ci on first use, with
#                    the exact dependency versions of tests/lib/s3rver/package-lock.json,
#                    into tests/lib/s3rver/node_modules or $S3RVER_PREFIX) on a free
#                    port of 127.0.0.1, storing into DIR/data, with the bucket "pgvault-test";
#                    exports S3_ENDPOINT, S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
#                    AWS_REGION (and clears AWS_SESSION_TOKEN).
#   s3_stop DIR      stop it (safe to call when it is not running).
#   s3proxy_start DIR    start tests/lib/s3proxy.py between clients and the server; exports
#                        S3_PROXY_ENDPOINT.  DIR/proxy.rules holds the faults to inject and
#                        DIR/proxy.log gets one line per request.
#   s3proxy_fault DIR ACTION COUNT [MATCH]   answer the next COUNT requests whose
#                        "METHOD /path?query" contains MATCH with ACTION (see s3proxy.py).
#   s3proxy_reset DIR    drop pending faults and empty the request log.
#   s3proxy_stop DIR
#
# The server verifies AWS Signature V4 (a wrong secret gets 403 SignatureDoesNotMatch).
# s3rver 5.0.0 lacks two operations the client uses, ListMultipartUploads (GET ?uploads=) and
# AbortMultipartUpload (DELETE ?uploadId=); the launcher below adds them on top of s3rver's
# own file store, behind s3rver's own signature check.  It also runs node with
# --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
# OpenSSL 3 only offers in its legacy provider (without it, any listing of more than 1000
# objects fails with 500 InternalError).  And it supplies Array.prototype.toReversed on
# Node.js 18 (Debian 12's), which @koa/router 15 calls on every request.

S3RVER_VERSION=5.0.0

# Make sure the npm packages are there; prints the directory of the s3rver package.
# They are installed with `npm ci` from tests/lib/s3rver/package.json and its package-lock.json
# (exact versions of every dependency, held so that the server runs on the Node.js that Debian
# 12 ships, 18.x, as well as on newer ones), into tests/lib/s3rver/node_modules, or into
# $S3RVER_PREFIX/node_modules when that is set (both files are copied there).  A stamp holding
# the lock file's checksum says whether what is installed is what the lock file asks for.
s3_install() {
	local spec="$TOP_SRCDIR/tests/lib/s3rver" prefix want
	prefix="${S3RVER_PREFIX:-$spec}"
	local pkg="$prefix/node_modules/@20minutes/s3rver" stamp="$prefix/node_modules/.pgvault-lock.sha256"
	command -v node >/dev/null || { echo "s3_install: node is not installed" >&2; return 1; }
	want="$(sha256sum <"$spec/package-lock.json" | cut -d' ' -f1)" ||
		{ echo "s3_install: cannot read $spec/package-lock.json" >&2; return 1; }
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		command -v npm >/dev/null || { echo "s3_install: npm is not installed" >&2; return 1; }
		mkdir -p "$prefix/node_modules"
		# several tests may start at once: one installs, the others wait
		(
			flock 9
			[ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && exit 0
			if [ "$prefix" != "$spec" ]; then
				cp "$spec/package.json" "$spec/package-lock.json" "$prefix/" || exit 1
			fi
			# npm ci empties node_modules first (the lock file next to it survives)
			npm ci --prefix "$prefix" --no-audit --no-fund --loglevel=error >&2 || exit 1
			echo "$want" >"$stamp"
		) 9>"$prefix/.s3rver-install.lock" ||
			{ echo "s3_install: npm ci in $prefix failed" >&2; return 1; }
		grep -qs "\"version\": \"$S3RVER_VERSION\"" "$pkg/package.json" ||
			{ echo "s3_install: $pkg is missing after npm ci" >&2; return 1; }
	fi
	echo "$pkg"
}

s3_start() {
	local dir="$1" pkg i
	pkg="$(s3_install)" || return 1
	mkdir -p "$dir/data"
	rm -f "$dir/port"
	cat >"$dir/server.js" <<'JS'
// Launches s3rver for the tests (written by tests/lib/s3.sh).
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const [pkg, dataDir, portFile, bucket] = process.argv.slice(2)

// @koa/router 15 (what s3rver 5.0.0 needs) calls Array.prototype.toReversed, new in Node.js 20;
// Debian 12 ships Node.js 18, where every request would answer 500 without this.
if (!Array.prototype.toReversed) {
  Object.defineProperty(Array.prototype, 'toReversed', {
    value: function toReversed() { return Array.prototype.slice.call(this).reverse() },
    writable: true,
    configurable: true,
  })
}
const S3rver = require(pkg)
const authentication = require(path.join(pkg, 'lib/middleware/authentication'))
const S3Error = require(path.join(pkg, 'lib/models/error'))

const esc = (s) =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

// The two multipart operations s3rver 5.0.0 does not implement, on its own file store
// (DATA/<bucket>/._S3rver_uploads/<uploadId>/{key,metadata,1,2,...}).
async function multipartExtras(ctx, next) {
  const m = /^\/([^/]+)(?:\/(.+))?$/.exec(ctx.path)
  const listing = m && !m[2] && ctx.method === 'GET' && 'uploads' in ctx.query
  const abort = m && m[2] && ctx.method === 'DELETE' && 'uploadId' in ctx.query
  if (!listing && !abort) return next()
  const b = decodeURIComponent(m[1])
  ctx.params = { bucket: b }
  if (abort) ctx.params.key = decodeURIComponent(m[2])
  const bucketDir = path.join(dataDir, b)
  if (!fs.existsSync(bucketDir)) {
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: b })
  }
  const uploadsDir = path.join(bucketDir, '._S3rver_uploads')
  await authentication()(ctx, async () => {
    if (abort) {
      const id = String(ctx.query.uploadId)
      const dir = path.join(uploadsDir, id)
      let key = null
      if (/^[0-9a-f]+$/.test(id)) {
        try { key = fs.readFileSync(path.join(dir, 'key'), 'utf8') } catch (e) { key = null }
      }
      if (key !== ctx.params.key) {
        throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: id })
      }
      fs.rmSync(dir, { recursive: true, force: true })
      ctx.status = 204
      return
    }
    const prefix = ctx.query.prefix || ''
    const keyMarker = ctx.query['key-marker'] || ''
    const idMarker = ctx.query['upload-id-marker'] || ''
    const max = Math.min(1000, Number(ctx.query['max-uploads'] || 1000))
    let ids = []
    try { ids = fs.readdirSync(uploadsDir) } catch (e) { ids = [] }
    const all = []
    for (const id of ids) {
      try {
        const key = fs.readFileSync(path.join(uploadsDir, id, 'key'), 'utf8')
        const st = fs.statSync(path.join(uploadsDir, id, 'key'))
        if (key.startsWith(prefix)) all.push({ key, id, at: st.mtime })
      } catch (e) { /* being completed or aborted */ }
    }
    all.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
    const after = all.filter((u) => !keyMarker || u.key > keyMarker ||
      (u.key === keyMarker && idMarker && u.id > idMarker))
    const page = after.slice(0, max)
    const truncated = after.length > page.length
    const last = page[page.length - 1]
    ctx.type = 'application/xml'
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${esc(b)}</Bucket><KeyMarker>${esc(keyMarker)}</KeyMarker>` +
      `<UploadIdMarker>${esc(idMarker)}</UploadIdMarker><Prefix>${esc(prefix)}</Prefix>` +
      (truncated ? `<NextKeyMarker>${esc(last.key)}</NextKeyMarker>` +
        `<NextUploadIdMarker>${esc(last.id)}</NextUploadIdMarker>` : '') +
      `<MaxUploads>${max}</MaxUploads><IsTruncated>${truncated}</IsTruncated>` +
      page.map((u) => `<Upload><Key>${esc(u.key)}</Key><UploadId>${u.id}</UploadId>` +
        `<Initiated>${u.at.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`).join('') +
      '</ListMultipartUploadsResult>'
  })
}

const server = new S3rver({
  port: 0,
  address: '127.0.0.1',
  directory: dataDir,
  silent: true,
  configureBuckets: [{ name: bucket }],
})
// just before s3rver's router (the last middleware)
server.middleware.splice(server.middleware.length - 1, 0, multipartExtras)
server.run().then((addr) => {
  fs.writeFileSync(portFile + '.tmp', String(addr.port))
  fs.renameSync(portFile + '.tmp', portFile)
}, (err) => {
  console.error(err)
  process.exit(1)
})
JS
	node --openssl-legacy-provider "$dir/server.js" "$pkg" "$dir/data" "$dir/port" pgvault-test \
		>"$dir/server.log" 2>&1 </dev/null &
	echo $! >"$dir/server.pid"
	for i in $(seq 1 300); do
		[ -s "$dir/port" ] && break
		kill -0 "$(cat "$dir/server.pid")" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$dir/port" ]; then
		echo "s3_start: s3rver did not start:" >&2
		cat "$dir/server.log" >&2
		s3_stop "$dir"
		return 1
	fi
	export S3_ENDPOINT="http://127.0.0.1:$(cat "$dir/port")"
	export S3_BUCKET=pgvault-test
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
	unset AWS_SESSION_TOKEN
}

# Stop the process whose pid is in FILE (one we started), waiting for it to exit.
_s3_kill_pidfile() {
	local f="$1" pid i
	[ -s "$f" ] || return 0
	pid="$(cat "$f")"
	if kill "$pid" 2>/dev/null; then
		for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

s3_stop() {
	_s3_kill_pidfile "$1/server.pid"
}

s3proxy_start() {
	local dir="$1" i
	: "${S3_ENDPOINT:?s3proxy_start: start the server first}"
	rm -f "$dir/proxy.port"
	: >"$dir/proxy.rules"
	: >"$dir/proxy.log"
	python3 "$TOP_SRCDIR/tests/lib/s3proxy.py" --upstream "$S3_ENDPOINT" \
		--port-file "$dir/proxy.port" --rules "$dir/proxy.rules" --log "$dir/proxy.log" \
		>"$dir/proxy.out" 2>&1 </dev/null &
	echo $! >"$dir/proxy.pid"
	for i in $(seq 1 100); do
		[ -s "$dir/proxy.port" ] && break
		kill -0 "$(cat "$dir/proxy.pid")" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$dir/proxy.port" ]; then
		echo "s3proxy_start: the proxy did not start:" >&2
		cat "$dir/proxy.out" >&2
		s3proxy_stop "$dir"
		return 1
	fi
	export S3_PROXY_ENDPOINT="http://127.0.0.1:$(cat "$dir/proxy.port")"
}

s3proxy_fault() {
	local dir="$1" action="$2" count="$3" match="${4:-}"
	printf '%s %s %s\n' "$action" "$count" "$match" >>"$dir/proxy.rules"
}

# Remove all pending faults and empty the request log.
s3proxy_reset() {
	: >"$1/proxy.rules"
	: >"$1/proxy.log"
}

s3proxy_stop() {
	_s3_kill_pidfile "$1/proxy.pid"
}
