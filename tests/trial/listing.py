# Listing of a tree for tests/trial/trial.sh (the journal ./.scoord left out).
import os, sys, hashlib, stat
root = sys.argv[1]
out = []
for d, dirs, files in os.walk(root):
    dirs[:] = sorted(x for x in dirs if not (d == root and x == '.scoord'))
    for name in sorted(dirs + files):
        p = os.path.join(d, name); st = os.lstat(p); rel = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode): extra = 'L ' + os.readlink(p)
        elif stat.S_ISREG(st.st_mode): extra = 'F %d %s nlink=%d mtime=%d' % (st.st_size, hashlib.sha256(open(p,'rb').read()).hexdigest()[:16], st.st_nlink, st.st_mtime_ns)
        elif stat.S_ISDIR(st.st_mode): extra = 'D mtime=%d' % st.st_mtime_ns
        else: extra = 'O'
        out.append('%s %o %s' % (rel, stat.S_IMODE(st.st_mode), extra))
print('\n'.join(out))
