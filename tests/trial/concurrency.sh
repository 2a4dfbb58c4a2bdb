# The concurrency program of tests/trial/trial.sh: several writers at once on shared files and directories.
# concurrency: two sqlite writers on one WAL db, python threads, parallel make, tar while cp
(for i in $(seq 200); do sqlite3 db.sqlite "insert into t values($i);" 2>/dev/null; done) &
(for i in $(seq 200); do sqlite3 db.sqlite "update t set x=x+1 where rowid % 7 = $((i%7));" 2>/dev/null; done) &
python3 - <<'PY' &
import threading, os
os.makedirs('thr', exist_ok=True)
def w(k):
    for i in range(300):
        p = 'thr/%d_%d' % (k, i % 20)
        with open(p, 'a') as f: f.write('x' * (i % 50 + 1))
        if i % 5 == 0: os.replace(p, p + '.old')
        if i % 11 == 0 and os.path.exists(p + '.old'): os.unlink(p + '.old')
        if i % 13 == 0: os.truncate(p if os.path.exists(p) else p + '.old', i % 7) if (os.path.exists(p) or os.path.exists(p + '.old')) else None
ts = [threading.Thread(target=w, args=(k,)) for k in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
PY
(make -s -j2 -C proj >/dev/null 2>&1; make -s -C proj clean) &
(tar cf - repo | (mkdir -p untar && cd untar && tar xf -); cp -a untar untar2; rm -rf untar) &
wait
