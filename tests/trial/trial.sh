#!/bin/bash
# A new user's trial, by hand (not run by CI: it needs npm's registry and takes about a minute).
# Real programs under `scoord run` in a tree with the default journal (./.scoord), checkpoints between the
# runs, then rollbacks compared by listing (type, mode, size, sha256, nlink, mtimes, symlink targets):
#   S=PATH/TO/scoord tests/trial/trial.sh                 second run to its end; rollback c1, c0, then forward
#   KILL_AFTER=1.5 tests/trial/trial.sh                   second run: kill -9 of scoord after 1.5 s
#   RUNOPT=--no-fastpath  PROG=concurrency.sh             ptrace only; the concurrency program instead
# Each rollback must print no conflict and every listing must say EXACT.
D=$(cd "$(dirname "$0")" && pwd)
S=${S:-scoord}; R="$S run ${RUNOPT:-}"
O=${OUT:-/tmp/scoord-trial}; T=$O/w
rm -rf "$O"; mkdir -p "$T"; cd "$T" || exit 1
L() { python3 "$D/listing.py" "$T" > "$O/$1.lst"; }
same() { diff "$O/$1.lst" "$O/$2.lst" > "$O/$1-$2.diff" && echo "$1 listing: EXACT" || { echo "$1 listing DIFFERS:"; head -20 "$O/$1-$2.diff"; }; }
export GIT_AUTHOR_NAME=u GIT_AUTHOR_EMAIL=u@x GIT_COMMITTER_NAME=u GIT_COMMITTER_EMAIL=u@x GIT_CONFIG_GLOBAL=/dev/null
# made outside scoord: a C project, a git repository, a sqlite database in WAL mode
mkdir proj; for i in $(seq 20); do printf '#include <stdio.h>\nint f%d(void){return %d;}\n' $i $i > proj/f$i.c; done
printf 'int main(void){return 0;}\n' > proj/main.c
printf 'SRC=$(wildcard *.c)\nOBJ=$(SRC:.c=.o)\napp: $(OBJ)\n\tcc -o $@ $^\n%%.o: %%.c\n\tcc -O1 -c $< -o $@\nclean:\n\trm -f *.o app\n' > proj/Makefile
git -c init.defaultBranch=master init -q repo && (cd repo && seq 1000 > a && echo b > b && git add -A && git commit -qm one)
sqlite3 db.sqlite 'pragma journal_mode=wal; create table t(x); insert into t values(1);' >/dev/null
L c0; $S checkpoint --name c0 >/dev/null
echo "== run 1: make -j2, sqlite3, git commit + gc, sed -i, tar czf"
$R -- sh -c 'make -s -j2 -C proj >/dev/null && sqlite3 db.sqlite "insert into t select x+1 from t; insert into t select x+2 from t;" >/dev/null && cd repo && seq 2000 > a && git commit -qam two && git gc -q && sed -i s/b/bee/ b && tar czf ../repo.tgz .'; echo "rc=$?"
L c1; $S checkpoint --name c1 >/dev/null
echo "== run 2: ${PROG:-real-programs.sh}${KILL_AFTER:+, scoord killed with -9 after $KILL_AFTER s}"
if [ -n "${KILL_AFTER:-}" ]; then
    $R -- sh "$D/${PROG:-real-programs.sh}" & sp=$!
    sleep "$KILL_AFTER"; kill -9 $sp; wait $sp 2>/dev/null; sleep 0.3
else
    $R -- sh "$D/${PROG:-real-programs.sh}"; echo "rc=$?"
fi
L c2
echo "== rollback c1"; $S rollback c1 2>&1 | tail -2; L r1; same c1 r1
echo "== diff c1 after the rollback (nothing expected):"; $S diff c1 | head -5
echo "== rollback c0"; $S rollback c0 2>&1 | tail -1; L r0; same c0 r0
if [ -z "${KILL_AFTER:-}" ]; then
    id=$($S checkpoints | awk '/before-rollback/{print $1; exit}')
    echo "== rollback $id (forward, the state before the first rollback)"; $S rollback "$id" 2>&1 | tail -1; L f2; same c2 f2
fi
