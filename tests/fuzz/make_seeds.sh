#!/usr/bin/env bash
# Writes the seed corpora of tests/fuzz/corpus from real inputs: the repository objects with
# pgdr's own writers (pgdr_fuzz_seeds, built in build-fuzz), WAL cut from the fixtures of the WAL
# reader's tests, the S3 documents of the S3 tests, the configurations of docs/, schedules and
# daemon requests. Run from the top of the tree after `ninja -C build-fuzz pgdr_fuzz_seeds`; the
# seeds are committed, so this is needed only when a format changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=tests/fuzz/corpus
build-fuzz/tests/fuzz/pgdr_fuzz_seeds "$corpus"

# WAL: the first 32 KiB (four pages) of every fixture segment of every major, the segment size in
# the long page header set to the 1 MiB segments the target reads.
mkdir -p "$corpus/wal_reader_fuzz"
for f in tests/unit/pg/data/wal/*/*.zst; do
  major=$(basename "$(dirname "$f")")
  out="$corpus/wal_reader_fuzz/seed-$major-$(basename "$f" .zst)"
  { zstd -q -dc "$f" || true; } | head -c 32768 >"$out"  # zstd ends on SIGPIPE
  printf '\x00\x00\x10\x00' | dd of="$out" bs=1 seek=32 conv=notrunc status=none
  # The same with the target's CRC-fixing bit set (byte 20, header padding), so that mutations of
  # the records keep reaching their decoding.
  cp "$out" "$out-crc"
  printf '\x01' | dd of="$out-crc" bs=1 seek=20 conv=notrunc status=none
done

# pg_control of every major, from the control file tests.
mkdir -p "$corpus/control_file_fuzz"
for f in tests/unit/pg/data/control/pg_control_*.bin; do
  cp "$f" "$corpus/control_file_fuzz/seed-$(basename "$f" .bin)"
done

python3 - "$corpus" <<'PY'
import os, re, sys
corpus = sys.argv[1]
def seed(target, name, text):
    os.makedirs(os.path.join(corpus, target), exist_ok=True)
    with open(os.path.join(corpus, target, 'seed-' + name), 'w') as f:
        f.write(text)

# S3: the documents of the S3 XML tests, and an InitiateMultipartUploadResult as AWS sends it.
src = open('tests/unit/storage/s3_xml_test.cpp').read()
for i, doc in enumerate(re.findall(r'R"\((.*?)\)"', src, re.S)):
    if '<' in doc:
        seed('s3_xml_fuzz', 'test-%d' % i, doc)
seed('s3_xml_fuzz', 'initiate', '<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult '
     'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>pgdr</Bucket><Key>packs/3f/3fa2</Key>'
     '<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>')

# Configurations: every TOML block of the documentation.
n = 0
for doc in ['docs/CONFIGURATION.md', 'docs/DISASTER_RECOVERY.md', 'README.md']:
    if not os.path.exists(doc):
        continue
    for block in re.findall(r'```toml\n(.*?)```', open(doc).read(), re.S):
        seed('config_fuzz', 'doc-%d' % n, block)
        n += 1

# Schedules: the forms cron.h documents.
for i, s in enumerate(['0 * * * *', '*/15 2-4 * * 1-5', '30 0 0 1,15 * *', '0 0 30 2 *', '5/10 * * * 0,7',
                       '@hourly', '@daily', '@every 5m', '@every 1h30m', 'after backup']):
    seed('cron_fuzz', 'schedule-%d' % i, s)

# Timeline history files as servers write them; the first byte is the file's own timeline.
for i, (tli, text) in enumerate([(2, '1\t0/3000000\tno recovery target specified\n'),
                                 (3, '1\t0/3000000\tno recovery target specified\n\n2\t0/5000A28\tat restore point "before"\n'),
                                 (0, '# comment\n1\t1/AB000000\tbefore 2024-01-01 00:00:00+00\n')]):
    seed('timeline_history_fuzz', 'history-%d' % i, chr(tli) + text)

# Requests to the daemon, as a browser, curl and Prometheus send them.
reqs = {
    'metrics': 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:7433\r\nUser-Agent: Prometheus/2.45.0\r\nAccept: text/plain;version=0.0.4\r\nAccept-Encoding: gzip\r\n\r\n',
    'health': 'GET /health HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n',
    'metrics-token': 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer fuzz-token\r\n\r\n',
    'report-token': 'GET /reports/1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: bearer fuzz-token\r\n\r\n',
    'wrong-token': 'GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer fuzz-tokem\r\n\r\n',
    'dashboard': 'GET /?days=14 HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\nAccept-Language: en\r\nConnection: keep-alive\r\n\r\n',
    'report': 'GET /reports/2 HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-99\r\n\r\n',
    'missing': 'GET /reports/7 HTTP/1.0\r\n\r\n',
    'post': 'POST /health HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2',
}
for name, r in reqs.items():
    seed('daemon_http_fuzz', name, r)
PY
