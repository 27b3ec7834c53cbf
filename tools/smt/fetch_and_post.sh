#!/usr/bin/env bash
# Droplet SMT ingest (SPEC §8; smt-ingest.timer every 30 minutes): download new
# files from SMT's SFTP server, decrypt *.asc with gpg, unzip (preferring
# *Interval*.csv), and POST each CSV to iw-admin's /api/admin/smt/pull — small
# files inline (gzip+base64 JSON), large ones as a raw upload. A sha256 ledger
# ($SMT_LOCAL_DIR/.posted-sha256) keeps a file from being posted twice.
#
# Settings: the environment, then $IW_SMT_ENV_FILE (default
# /etc/default/intelliwatt-smt, KEY=value lines; the environment wins):
#   ADMIN_TOKEN, INTELLIWATT_BASE_URL, SMT_HOST, SMT_USER, SMT_KEY (required)
#   SMT_PORT (22), SMT_REMOTE_DIR (.), SMT_LOCAL_DIR (/var/lib/intelliwatt-smt),
#   ESIID_DEFAULT, SMT_METER_DEFAULT, SMT_KNOWN_HOSTS ($SMT_LOCAL_DIR/known_hosts),
#   SMT_STRICT_HOST_KEY (yes | accept-new; default yes), SMT_GNUPGHOME
#   ($SMT_LOCAL_DIR/.gnupg), SMT_INLINE_MAX_BYTES (4194304), SMT_POST_TIMEOUT (900 s)
#
# Exit codes: 0 done (posted, or nothing new); 2 settings missing or wrong;
# 3 SFTP failed; 4 some files could not be decrypted, unpacked or posted (the
# others were); 5 the server refused the token (401/403); 6 another run holds
# the lock; 75 the server said 429 (throttled): the run stopped, retry later.
set -uo pipefail

EXIT_OK=0 EXIT_CONFIG=2 EXIT_SFTP=3 EXIT_PARTIAL=4 EXIT_AUTH=5 EXIT_LOCKED=6 EXIT_THROTTLED=75
PULL_PATH=/api/admin/smt/pull
INLINE_MAX_DEFAULT=4194304 # decoded bytes; the inline body cap is 8 MiB (SPEC §5)
RESPONSE_LOG_MAX=400    # bytes of an error answer in the log
RESPONSE_KEEP_MAX=65536 # bytes of an answer read for ok/rows/duplicate
SAFE_NAME_RE='^[A-Za-z0-9][A-Za-z0-9._-]*$'

# One line per event on stderr (the journal under systemd).
log() { # level event [key=value...]
	local level=$1 event=$2
	shift 2
	echo "smt-ingest level=$level event=$event${*:+ $*}" >&2
}
die() { local code=$1; shift; log error "$@"; exit "$code"; }

# --- settings -------------------------------------------------------------------------
load_env_file() {
	local file=$1 line k v
	[ -f "$file" ] || return 0
	# Under systemd the unit's EnvironmentFile= already read it as root.
	[ -r "$file" ] || { log info env_file_unreadable "file=$file"; return 0; }
	while IFS= read -r line || [ -n "$line" ]; do
		[[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
		k=${BASH_REMATCH[1]} v=${BASH_REMATCH[2]}
		v=${v%$'\r'}
		[[ $v =~ ^\"(.*)\"$ || $v =~ ^\'(.*)\'$ ]] && v=${BASH_REMATCH[1]}
		[ -n "${!k+x}" ] && continue # the environment wins
		printf -v "$k" '%s' "$v"
		export "${k?}"
	done <"$file"
}

load_env_file "${IW_SMT_ENV_FILE:-/etc/default/intelliwatt-smt}"
for k in ADMIN_TOKEN INTELLIWATT_BASE_URL SMT_HOST SMT_USER SMT_KEY; do
	[ -n "${!k:-}" ] || die $EXIT_CONFIG setting_missing "name=$k"
done
SMT_PORT=${SMT_PORT:-22}
SMT_REMOTE_DIR=${SMT_REMOTE_DIR:-.}
SMT_LOCAL_DIR=${SMT_LOCAL_DIR:-/var/lib/intelliwatt-smt}
SMT_KNOWN_HOSTS=${SMT_KNOWN_HOSTS:-$SMT_LOCAL_DIR/known_hosts}
SMT_STRICT_HOST_KEY=${SMT_STRICT_HOST_KEY:-yes}
SMT_INLINE_MAX_BYTES=${SMT_INLINE_MAX_BYTES:-$INLINE_MAX_DEFAULT}
SMT_POST_TIMEOUT=${SMT_POST_TIMEOUT:-900}
export GNUPGHOME=${SMT_GNUPGHOME:-$SMT_LOCAL_DIR/.gnupg}
BASE=${INTELLIWATT_BASE_URL%/}

[[ $SMT_PORT =~ ^[0-9]+$ ]] || die $EXIT_CONFIG setting_invalid name=SMT_PORT
[[ $SMT_INLINE_MAX_BYTES =~ ^[0-9]+$ ]] || die $EXIT_CONFIG setting_invalid name=SMT_INLINE_MAX_BYTES
[[ $SMT_POST_TIMEOUT =~ ^[0-9]+$ ]] || die $EXIT_CONFIG setting_invalid name=SMT_POST_TIMEOUT
case $SMT_STRICT_HOST_KEY in yes | accept-new) ;; *) die $EXIT_CONFIG setting_invalid name=SMT_STRICT_HOST_KEY ;; esac
[ -r "$SMT_KEY" ] || die $EXIT_CONFIG key_unreadable "file=$SMT_KEY"
[ "$SMT_STRICT_HOST_KEY" = yes ] && [ ! -s "$SMT_KNOWN_HOSTS" ] &&
	die $EXIT_CONFIG known_hosts_missing "file=$SMT_KNOWN_HOSTS" "hint=ssh-keyscan -p $SMT_PORT $SMT_HOST, check the fingerprint, or SMT_STRICT_HOST_KEY=accept-new"

INBOX="$SMT_LOCAL_DIR/inbox"
WORK="$SMT_LOCAL_DIR/work"
LEDGER="$SMT_LOCAL_DIR/.posted-sha256"
umask 077
mkdir -p "$INBOX" "$WORK" "$GNUPGHOME" || die $EXIT_CONFIG local_dir_unwritable "dir=$SMT_LOCAL_DIR"
touch "$LEDGER" || die $EXIT_CONFIG local_dir_unwritable "dir=$SMT_LOCAL_DIR"

# One run at a time.
exec 9>"$SMT_LOCAL_DIR/.lock"
flock -n 9 || die $EXIT_LOCKED locked "dir=$SMT_LOCAL_DIR"

TMP=$(mktemp -d "$WORK/run.XXXXXX") || die $EXIT_CONFIG local_dir_unwritable "dir=$WORK"
trap 'rm -rf "$TMP"' EXIT

# --- SFTP -----------------------------------------------------------------------------
sftp_batch() { # batch-file → stdout
	sftp -b "$1" -q -i "$SMT_KEY" -P "$SMT_PORT" \
		-o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=20 -o ServerAliveInterval=15 \
		-o StrictHostKeyChecking="$SMT_STRICT_HOST_KEY" -o UserKnownHostsFile="$SMT_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null "$SMT_USER@$SMT_HOST"
}

# The regular files of the remote directory ("ls -l": the name is the 9th field on).
printf 'cd "%s"\nls -l\n' "$SMT_REMOTE_DIR" >"$TMP/list.batch"
if ! sftp_batch "$TMP/list.batch" >"$TMP/list.out" 2>"$TMP/list.err"; then
	die $EXIT_SFTP sftp_failed "host=$SMT_HOST" "error=\"$(tr '\n' ' ' <"$TMP/list.err" | cut -c1-300)\""
fi
remote_files=$(awk '/^-/ && NF >= 9 { for (i = 1; i <= 8; i++) $i = ""; sub(/^ +/, ""); print }' "$TMP/list.out")

: >"$TMP/get.batch"
wanted=()
while IFS= read -r name; do
	[ -n "$name" ] || continue
	if ! [[ $name =~ $SAFE_NAME_RE ]]; then
		log warn skipped_remote_name "name=\"${name//\"/}\""
		continue
	fi
	[ -e "$INBOX/$name" ] && continue # downloaded on an earlier run
	printf 'get "%s" "%s/.%s.part"\n' "$name" "$INBOX" "$name" >>"$TMP/get.batch"
	wanted+=("$name")
done <<<"$remote_files"
if [ ${#wanted[@]} -gt 0 ]; then
	printf '%s\n' "cd \"$SMT_REMOTE_DIR\"" | cat - "$TMP/get.batch" >"$TMP/get2.batch"
	if ! sftp_batch "$TMP/get2.batch" >/dev/null 2>"$TMP/get.err"; then
		rm -f "$INBOX"/.*.part
		die $EXIT_SFTP sftp_failed "host=$SMT_HOST" "error=\"$(tr '\n' ' ' <"$TMP/get.err" | cut -c1-300)\""
	fi
	for name in "${wanted[@]}"; do
		mv -f "$INBOX/.$name.part" "$INBOX/$name"
	done
fi
log info listed "remote=$(grep -c . <<<"$remote_files")" "downloaded=${#wanted[@]}"

# --- posting ----------------------------------------------------------------------------
posted=0 skipped=0 failed=0

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
in_ledger() { grep -q "^$1 " "$LEDGER"; }
to_ledger() { printf '%s %s %s\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2" >>"$LEDGER"; }

# The ESIID for a file: a 17–22 digit run in its name, else ESIID_DEFAULT.
esiid_for() {
	if [[ $1 =~ (^|[^0-9])([0-9]{17,22})([^0-9]|$) ]]; then
		echo "${BASH_REMATCH[2]}"
	else
		echo "${ESIID_DEFAULT:-}"
	fi
}

# POSTs one file; sets RESP_STATUS and RESP_BODY. Secrets go to curl on stdin.
post_file() { # path name esiid
	local file=$1 name=$2 esiid=$3 size out rc
	size=$(stat -c %s "$file")
	local curl_args=(-sS --connect-timeout 10 --max-time "$SMT_POST_TIMEOUT" -o "$TMP/resp" -w '%{http_code}'
		-H @- -X POST)
	if [ "$size" -le "$SMT_INLINE_MAX_BYTES" ]; then
		{
			printf '{"mode":"inline","source":"adhocusage","filename":"%s","encoding":"base64+gzip","sizeBytes":%s' "$name" "$size"
			[ -n "$esiid" ] && printf ',"esiid":"%s"' "$esiid"
			[ -n "${SMT_METER_DEFAULT:-}" ] && printf ',"meter":"%s"' "${SMT_METER_DEFAULT//\"/}"
			printf ',"content_b64":"'
			gzip -c -n "$file" | base64 -w0
			printf '"}'
		} >"$TMP/inline.json"
		curl_args+=(-H 'content-type: application/json' --data-binary "@$TMP/inline.json" "$BASE$PULL_PATH")
		MODE=inline
	else
		local ctype=text/csv q="filename=$name"
		case $name in *.gz) ctype=application/gzip ;; esac
		[ -n "$esiid" ] && q+="&esiid=$esiid"
		[ -n "${SMT_METER_DEFAULT:-}" ] && q+="&meter=$(printf %s "$SMT_METER_DEFAULT" | tr -cd 'A-Za-z0-9._-')"
		# -T streams the file (SPEC §5: uploads up to 256 MiB are never held twice).
		curl_args+=(-H "content-type: $ctype" -T "$file" "$BASE$PULL_PATH?$q")
		MODE=upload
	fi
	out=$(printf 'x-admin-token: %s\n' "$ADMIN_TOKEN" | curl "${curl_args[@]}" 2>"$TMP/curl.err")
	rc=$?
	RESP_STATUS=${out:-000}
	RESP_BODY=$(head -c "$RESPONSE_KEEP_MAX" "$TMP/resp" 2>/dev/null | tr '\n' ' ')
	[ $rc -eq 0 ] || RESP_BODY="curl exit $rc: $(tr '\n' ' ' <"$TMP/curl.err" | cut -c1-200)"
	rm -f "$TMP/inline.json" "$TMP/resp"
}

# Posts one CSV unless the ledger knows it. Returns 0 posted/known, 1 failed.
post_csv() { # path name
	local file=$1 name=$2 sha esiid rows
	sha=$(sha256_of "$file")
	if in_ledger "$sha"; then
		log info already_posted "file=$name" "sha256=$sha"
		skipped=$((skipped + 1))
		return 0
	fi
	esiid=$(esiid_for "$name")
	post_file "$file" "$name" "$esiid"
	case $RESP_STATUS in
	2??)
		if [[ $RESP_BODY =~ \"ok\"[[:space:]]*:[[:space:]]*true ]]; then
			rows=$(grep -o '"rows"[[:space:]]*:[[:space:]]*[0-9]*' <<<"$RESP_BODY" | grep -o '[0-9]*$')
			to_ledger "$sha" "$name"
			posted=$((posted + 1))
			log info posted "file=$name" "mode=$MODE" "sha256=$sha" "http=$RESP_STATUS" "rows=${rows:-?}" \
				"duplicate=$(grep -q '"duplicate"[[:space:]]*:[[:space:]]*true' <<<"$RESP_BODY" && echo true || echo false)"
			return 0
		fi ;;
	429)
		log warn throttled "file=$name" http=429 "posted=$posted"
		exit $EXIT_THROTTLED ;;
	401 | 403)
		die $EXIT_AUTH token_refused "file=$name" "http=$RESP_STATUS" ;;
	esac
	local shown=${RESP_BODY:0:$RESPONSE_LOG_MAX}
	log error post_failed "file=$name" "mode=$MODE" "http=$RESP_STATUS" "response=\"${shown//\"/\'}\""
	failed=$((failed + 1))
	return 1
}

# Turns one downloaded file into the CSVs to post (printed, one path a line).
unpack() { # inbox-path → dir
	local file=$1 dir=$2 name csvs
	name=$(basename "$file")
	case ${name,,} in
	*.asc | *.gpg | *.pgp)
		local plain="$dir/${name%.*}"
		if ! gpg --batch --yes --quiet --no-tty --decrypt --output "$plain" "$file" 2>"$dir/gpg.err"; then
			log error decrypt_failed "file=$name" "error=\"$(tr '\n' ' ' <"$dir/gpg.err" | cut -c1-200)\""
			return 1
		fi
		unpack "$plain" "$dir" ;;
	*.zip)
		mkdir -p "$dir/zip" && if ! unzip -qq -o -j "$file" -d "$dir/zip" 2>"$dir/unzip.err"; then
			log error unzip_failed "file=$name" "error=\"$(tr '\n' ' ' <"$dir/unzip.err" | cut -c1-200)\""
			return 1
		fi
		csvs=$(find "$dir/zip" -maxdepth 1 -type f -iname '*interval*.csv' | sort)
		[ -n "$csvs" ] || csvs=$(find "$dir/zip" -maxdepth 1 -type f -iname '*.csv' | sort)
		[ -n "$csvs" ] || { log warn no_csv_in_zip "file=$name"; return 0; }
		printf '%s\n' "$csvs" ;;
	*.csv | *.csv.gz) echo "$file" ;;
	*) log info skipped_kind "file=$name" ;;
	esac
}

for file in "$INBOX"/*; do
	[ -f "$file" ] || continue
	name=$(basename "$file")
	src_sha=$(sha256_of "$file")
	in_ledger "$src_sha" && continue # every CSV of it was posted on an earlier run
	dir="$TMP/$name.d"
	mkdir -p "$dir"
	if ! csvs=$(unpack "$file" "$dir"); then
		failed=$((failed + 1))
		continue
	fi
	ok=1
	while IFS= read -r csv; do
		[ -n "$csv" ] || continue
		csv_name=$(basename "$csv")
		[[ $csv_name =~ $SAFE_NAME_RE ]] || csv_name=$(tr -c 'A-Za-z0-9._\n-' '_' <<<"$csv_name")
		post_csv "$csv" "$csv_name" || ok=0
	done <<<"$csvs"
	# The source file itself is remembered once all its CSVs are in.
	[ $ok = 1 ] && ! in_ledger "$src_sha" && to_ledger "$src_sha" "$name"
	rm -rf "$dir"
done

log info done "posted=$posted" "already_posted=$skipped" "failed=$failed"
[ $failed -eq 0 ] && exit $EXIT_OK
exit $EXIT_PARTIAL
