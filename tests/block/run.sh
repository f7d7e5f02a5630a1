#!/bin/sh
# tests/block/run.sh - kasou's block layer against QEMU's tools as the oracle.
#
#   sh tests/block/run.sh BLK-TOOL      (BLK-TOOL: the built tests/blk-tool)
#
# qemu-img (Debian: qemu-utils) builds the images and judges the results:
# images written by qemu-img/qemu-io must read back through blk-tool as
# qemu-img converts them; images written by blk-tool must pass
# `qemu-img check` (no corruption, no leaks) and convert to the content
# the writes were mirrored into.  Corrupt images must fail with a message,
# never crash (sanitizer reports exit 99 here).  Prints ok/not ok lines;
# exits non-zero on any failure, and fails (not skips) without qemu-img.

tool=${1:?usage: run.sh BLK-TOOL}
case $tool in /*) ;; *) tool=$(pwd)/$tool ;; esac
TMP_PREFIX=kasou-block
. "$(dirname "$0")/../guest/lib.sh"
export ASAN_OPTIONS="exitcode=99:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="exitcode=99:${UBSAN_OPTIONS:-}"
cd "$tmp" || exit 2

if ! command -v qemu-img >/dev/null 2>&1; then
    not_ok "qemu-img present" "install qemu-utils: the block tests need it as the oracle"
    finish
fi
have_qemu_io=no
command -v qemu-io >/dev/null 2>&1 && have_qemu_io=yes

blk() {
    "$tool" "$@"
}

# check NAME IMG: qemu-img check finds no corruption and no leaks.
check() {
    if out=$(qemu-img check "$2" 2>&1); then
        ok "$1: qemu-img check"
    else
        not_ok "$1: qemu-img check" "$out"
    fi
}

# same NAME A B: two files have identical bytes.
same() {
    if cmp -s "$2" "$3"; then
        ok "$1"
    else
        not_ok "$1" "$(cmp "$2" "$3" 2>&1 | head -1)"
    fi
}

# converted NAME IMG REF: qemu-img's raw view of IMG equals REF.
converted() {
    rm -f conv.raw
    qemu-img convert -O raw "$2" conv.raw && same "$1" conv.raw "$3"
}

# fails NAME WORDS CMD...: CMD exits 1 (not a crash) with WORDS in its message.
fails() {
    name=$1 words=$2
    shift 2
    "$@" >/dev/null 2>err.txt
    rc=$?
    if [ $rc -eq 1 ] && grep -q "$words" err.txt; then
        ok "$name"
    else
        not_ok "$name" "exit $rc, expected 1 with '$words'" "$(head -3 err.txt)"
    fi
}

# The test disk: text (compresses), zeros, random bytes, more text; 4 MiB.
yes "kasou block layer test line" | head -c 1048576 > text.bin
head -c 1048576 /dev/zero > zero.bin
head -c 1048576 /dev/urandom > rand.bin
cat text.bin zero.bin rand.bin text.bin > disk.raw

# ---- raw ----
cp disk.raw r.img && cp disk.raw r.ref
blk wrand r.img r.ref 1 60 100000 && ok "raw: random writes read back" ||
    not_ok "raw: random writes read back"
same "raw: file holds the writes" r.img r.ref
head -c 1000 /dev/urandom > odd.img
blk dump odd.img > odd.out
{ cat odd.img; head -c 24 /dev/zero; } > odd.ref
same "raw: 1000-byte file reads as 1024 bytes, zero tail" odd.out odd.ref
blk info odd.img | grep -q "virtual size: 1024" && ok "raw: size rounds up to 512" ||
    not_ok "raw: size rounds up to 512"

# ---- reading what qemu-img wrote ----
for v in 0.10 1.1; do
    for c in "" -c; do
        name="qcow2 compat=$v ${c:+compressed }read"
        qemu-img convert -f raw -O qcow2 -o compat=$v $c disk.raw q.qcow2
        blk dump q.qcow2 > q.out && same "$name" q.out disk.raw
        blk read q.qcow2 1048000 5000 > part.out
        dd if=disk.raw bs=1 skip=1048000 count=5000 2>/dev/null > part.ref
        same "$name: unaligned range" part.out part.ref
    done
done
for cs in 512 4096 2097152; do
    qemu-img convert -f raw -O qcow2 -o cluster_size=$cs -c disk.raw q.qcow2
    blk dump q.qcow2 > q.out && same "qcow2 cluster_size=$cs compressed read" q.out disk.raw
done

if [ "$have_qemu_io" = yes ]; then
    qemu-img create -q -f qcow2 io.qcow2 4M
    qemu-io -c "write -P 0xab 0 65536" -c "write -P 0x5a 100000 3000" \
        -c "write -z 196608 65536" -c "write -P 0x11 300000 70000" io.qcow2 >/dev/null
    qemu-img convert -O raw io.qcow2 io.ref
    blk dump io.qcow2 > io.out && same "qcow2 written by qemu-io (patterns, zero clusters)" io.out io.ref
fi

# ---- writing, then qemu-img judges ----
wr() {  # wr NAME IMG SEED COUNT MAXLEN: random writes mirrored to a copy of disk.raw
    cp disk.raw w.ref
    if blk wrand "$2" w.ref "$3" "$4" "$5" 2>err.txt; then
        ok "$1: writes read back"
    else
        not_ok "$1: writes read back" "$(head -3 err.txt)"
    fi
    check "$1" "$2"
    converted "$1: qemu-img sees the writes" "$2" w.ref
}
for v in 0.10 1.1; do
    qemu-img convert -f raw -O qcow2 -o compat=$v disk.raw w.qcow2
    wr "qcow2 compat=$v" w.qcow2 2 150 150000
    qemu-img convert -f raw -O qcow2 -o compat=$v -c disk.raw w.qcow2
    wr "qcow2 compat=$v into compressed clusters" w.qcow2 3 150 150000
done
qemu-img convert -f raw -O qcow2 -o cluster_size=512,refcount_bits=1 -c disk.raw w.qcow2
wr "qcow2 512-byte clusters, 1-bit refcounts (new refcount blocks)" w.qcow2 4 200 60000
qemu-img convert -f raw -O qcow2 -o cluster_size=512,refcount_bits=64 disk.raw w.qcow2
wr "qcow2 512-byte clusters, 64-bit refcounts (refcount table grows)" w.qcow2 5 200 60000
qemu-img convert -f raw -O qcow2 -o cluster_size=2M disk.raw w.qcow2
wr "qcow2 2 MiB clusters" w.qcow2 6 60 300000
qemu-img create -q -f qcow2 -o cluster_size=4096 w.qcow2 4M
cp disk.raw w.ref
blk write w.qcow2 0 < disk.raw && converted "qcow2: whole-disk write into an empty image" w.qcow2 disk.raw
check "qcow2: whole-disk write" w.qcow2

# Backing files: raw and qcow2 (compressed) bases, relative paths, base untouched.
mkdir -p sub
cp disk.raw sub/base.raw
qemu-img convert -f raw -O qcow2 -c disk.raw sub/base.qcow2
for fmt in raw qcow2; do
    qemu-img create -q -f qcow2 -b base.$fmt -F $fmt sub/top.qcow2
    blk dump sub/top.qcow2 > top.out && same "backing $fmt: reads through" top.out disk.raw
    cksum < sub/base.$fmt > before.sum
    wr "backing $fmt" sub/top.qcow2 7 120 150000
    cksum < sub/base.$fmt | cmp -s - before.sum && ok "backing $fmt: base unchanged" ||
        not_ok "backing $fmt: base unchanged"
done
qemu-img create -q -f qcow2 -b ../disk.raw -F raw -o cluster_size=65536 sub/small.qcow2 2M
head -c 2097152 disk.raw > small.ref
blk dump sub/small.qcow2 > small.out && same "backing file bigger than the image" small.out small.ref

# Internal snapshots: writes leave the snapshot's content and refcounts intact.
qemu-img convert -f raw -O qcow2 disk.raw s.qcow2
qemu-img snapshot -c before s.qcow2
wr "qcow2 with an internal snapshot" s.qcow2 8 100 150000
rm -f snap.raw
qemu-img convert -l snapshot.name=before -O raw s.qcow2 snap.raw &&
    same "internal snapshot still holds the old content" snap.raw disk.raw

# ---- snapshot mode, read-only, formats ----
for f in raw qcow2; do
    if [ $f = raw ]; then cp disk.raw m.img; else qemu-img convert -O qcow2 -f raw disk.raw m.img; fi
    cksum < m.img > before.sum
    cp disk.raw m.ref
    blk --snapshot wrand m.img m.ref 9 80 100000 && ok "--snapshot $f: reads see the writes" ||
        not_ok "--snapshot $f: reads see the writes"
    cksum < m.img | cmp -s - before.sum && ok "--snapshot $f: image unchanged" ||
        not_ok "--snapshot $f: image unchanged"
done
cp disk.raw ro.img
fails "--read-only refuses writes" "write failed" blk --read-only write ro.img 0 < text.bin
fails "format=qcow2 on a raw file" "not a qcow2 image" blk --format qcow2 info ro.img
fails "unknown format" "unsupported image format" blk --format vmdk info ro.img
qemu-img convert -f raw -O qcow2 disk.raw fq.qcow2
blk --format raw dump fq.qcow2 > fq.out
head -c "$(wc -c < fq.qcow2)" fq.out | cmp -s - fq.qcow2 &&
    ok "format=raw on a qcow2 file shows its bytes" || not_ok "format=raw on a qcow2 file shows its bytes"

# ---- locks, against kasou and against QEMU ----
cp disk.raw lk.img
"$tool" hold lk.img 5 > hold.out &
holder=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
    grep -q holding hold.out 2>/dev/null && break
    sleep 0.2
done
fails "second writer refused" "in use by another process" blk write lk.img 0 < text.bin
if [ "$have_qemu_io" = yes ]; then
    if qemu-io -c "write 0 512" lk.img >/dev/null 2>&1; then
        not_ok "QEMU sees kasou's write lock"
    else
        ok "QEMU sees kasou's write lock"
    fi
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
if [ "$have_qemu_io" = yes ]; then
    qemu-io -c "sleep 3000" lk.img > /dev/null 2>&1 &
    holder=$!
    sleep 1
    fails "kasou sees QEMU's write lock" "in use by another process" blk write lk.img 0 < text.bin
    wait "$holder" 2>/dev/null
fi

# ---- killed mid-write: leaks at worst, never corruption ----
qemu-img create -q -f qcow2 -o cluster_size=4096 kill.qcow2 64M
truncate -s 64M kill.ref
bad=
for i in 1 2 3 4 5; do
    "$tool" wrand kill.qcow2 kill.ref $i 1000000 70000 2>/dev/null &
    writer=$!
    sleep 0.$((i * 2))
    kill -9 "$writer" 2>/dev/null
    wait "$writer" 2>/dev/null
    qemu-img check kill.qcow2 >check.txt 2>&1
    rc=$?   # 0 clean, 3 leaked clusters only; 2 would be corruption
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
        bad="$bad kill $i: qemu-img check exit $rc: $(head -2 check.txt)"
    elif ! blk dump kill.qcow2 >/dev/null; then
        bad="$bad kill $i: unreadable"
    fi
done
[ -z "$bad" ] && ok "qcow2 killed mid-write 5 times: no corruption" ||
    not_ok "qcow2 killed mid-write 5 times: no corruption" "$bad"

# ---- corrupt images: an error, never a crash ----
qemu-img convert -f raw -O qcow2 -o cluster_size=4096 -c disk.raw good.qcow2
head -c 50 good.qcow2 > trunc.qcow2
fails "truncated header" "truncated" blk info trunc.qcow2
# patch IMG OFFSET HEXBYTES: overwrite bytes in place (octal: dash's printf has no \x)
patch() {
    bytes=$3
    esc=
    while [ -n "$bytes" ]; do
        esc="$esc\\$(printf %o "0x$(printf %.2s "$bytes")")"
        bytes=${bytes#??}
    done
    printf "$esc" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
cp good.qcow2 b.qcow2 && patch b.qcow2 20 0000001f
fails "cluster_bits 31" "cluster_bits" blk info b.qcow2
cp good.qcow2 b.qcow2 && patch b.qcow2 40 00000000ffff0000
fails "L1 table past EOF" "L1 table" blk info b.qcow2
cp good.qcow2 b.qcow2 && patch b.qcow2 24 7fffffffffffffff
fails "huge virtual size" "too large" blk info b.qcow2
cp good.qcow2 b.qcow2 && patch b.qcow2 32 00000001
fails "encryption" "encrypted" blk info b.qcow2
cp good.qcow2 b.qcow2 && patch b.qcow2 72 0000000000000004
fails "external data file bit" "external data" blk info b.qcow2
cp good.qcow2 b.qcow2 && patch b.qcow2 72 0000000000000100
fails "unknown incompatible feature" "incompatible" blk info b.qcow2
cp good.qcow2 b.qcow2 && patch b.qcow2 4 00000004
fails "version 4" "version" blk info b.qcow2
# Random damage anywhere in the metadata: any outcome but a crash.
crashes=0
i=0
while [ $i -lt 60 ]; do
    cp good.qcow2 f.qcow2
    off=$(( ($(od -An -tu4 -N4 /dev/urandom) % 20480) ))
    head -c 8 /dev/urandom | dd of=f.qcow2 bs=1 seek=$off conv=notrunc 2>/dev/null
    blk dump f.qcow2 > /dev/null 2>err.txt
    rc=$?
    cp disk.raw f.ref
    blk wrand f.qcow2 f.ref 1 10 20000 > /dev/null 2>>err.txt
    rc2=$?
    if [ $rc -gt 1 ] || [ $rc2 -gt 1 ]; then
        crashes=$((crashes + 1))
        cp f.qcow2 "$tmp/../kasou-block-crash-$i.qcow2" 2>/dev/null
        head -3 err.txt
    fi
    i=$((i + 1))
done
[ $crashes -eq 0 ] && ok "60 randomly damaged images: no crash" ||
    not_ok "60 randomly damaged images: no crash" "$crashes crashed"

finish
