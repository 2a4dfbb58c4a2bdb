# The driver of the rollback-exactness properties (tests/Scoord.Tests/Properties/Exactness).
# The test prepends TreeSnapshot.PythonSource's snapshot() to this file and runs it with python3:
#
#   driver.py run  ROOT SNAP RUN SCOORD_ARGV_JSON   one run of the program (under `scoord run`)
#   driver.py list ROOT PREFIX                      PREFIX.json (the listing) + PREFIX.inos.json
#   driver.py setup ROOT                            the tree every case starts from (outside scoord)
#   driver.py outside ROOT CHANGES_JSON             changes made outside scoord (the --force property)
#
# `run` reads SNAP/run-RUN.json, a list of steps [name, args...], and performs them in order in ROOT.
# Each step runs inside try/except: a step that fails (ENOENT, EISDIR...) is an outcome, not an
# error of the driver. After every step it writes one line "OUT k outcome" on stdout (the kill
# property waits for these lines). fds and mappings opened by a step stay open across later steps
# (slots 0-2) until a step closes them or the run ends; a step naming a slot that is not open uses
# another open one (picked by the slot number), so that most fd steps find an fd. A `checkpoint`
# step runs `scoord checkpoint` (no write is in flight then) and stores the listing right after it
# as SNAP/ckpt-ID.json.
# Every file stays at most MAXF bytes.

import ctypes, mmap, shutil, subprocess

MAXF = 65536
_PATTERN = bytes(((i * 7) ^ (i >> 8) ^ 0x5a) & 0xff for i in range(MAXF + 512))
_TEXT = (b'the quick brown fox jumps over the lazy dog; ' * ((MAXF // 45) + 16))
_libc = ctypes.CDLL(None, use_errno=True)
_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
AT_FDCWD = -100
RENAME_EXCHANGE = 2
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2


def data(seed, n):
    """n bytes; seed 0 gives zeros (written zeros are data, not holes)."""
    n = max(0, n)
    if seed == 0:
        return bytes(n)
    return _PATTERN[seed:seed + n]


def text(seed, n):
    n = max(0, n)
    return _TEXT[seed % 45:seed % 45 + n].decode('ascii')


def clip(off, n):
    return max(0, min(n, MAXF - off))


def _check(r):
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _ino(p):
    try:
        return os.lstat(p).st_ino
    except OSError:
        return None


def _tree_inos(root):
    res = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            full = os.path.join(d, n)
            try:
                res[os.path.relpath(full, root)] = os.lstat(full).st_ino
            except OSError:
                pass
    res['.'] = os.lstat(root).st_ino
    return res


def write_listing(root, prefix):
    """PREFIX.inos.json (path -> inode number, not compared) then PREFIX.json (the listing), each written whole then renamed."""
    for suffix, value in (('.inos.json', _tree_inos(root)), ('.json', snapshot(root))):
        tmp = prefix + suffix + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(value, f, sort_keys=True)
        os.rename(tmp, prefix + suffix)


class Driver:
    def __init__(self, root, snap, run, scoord):
        self.root, self.snap, self.run, self.scoord = root, snap, run, scoord
        self.fds = {}
        self.maps = {}
        self.state_file = os.path.join(snap, 'inos.json')
        state = {'seen': [], 'reused': 0, 'created': 0}
        if os.path.exists(self.state_file):
            with open(self.state_file) as f:
                state = json.load(f)
        self.seen = set(state['seen'])
        self.reused = state['reused']
        self.created = state['created']
        self.seen.update(_tree_inos(root).values())
        self.env = dict(os.environ)
        self.env.pop('SCOORD_FAULT', None)

    # -- inode reuse bookkeeping: a new object whose inode number was seen before in this case ----
    def _new_object(self, p, before):
        after = _ino(p)
        if after is not None and after != before:
            self.created += 1
            if after in self.seen:
                self.reused += 1
            self.seen.add(after)

    def save_state(self):
        with open(self.state_file + '.tmp', 'w') as f:
            json.dump({'seen': sorted(self.seen), 'reused': self.reused, 'created': self.created}, f)
        os.rename(self.state_file + '.tmp', self.state_file)

    # -- steps -------------------------------------------------------------------------------------
    def create(self, p, n, seed, mode):
        before = _ino(p)
        fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)
        try:
            os.write(fd, data(seed, clip(0, n)))
        finally:
            os.close(fd)
        self._new_object(p, before)

    def overwrite(self, p, off, n, seed):
        fd = os.open(p, os.O_WRONLY)
        try:
            os.pwrite(fd, data(seed, clip(off, n)), off)
        finally:
            os.close(fd)

    def append(self, p, n, seed):
        fd = os.open(p, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, data(seed, clip(os.fstat(fd).st_size, n)))
        finally:
            os.close(fd)

    def truncate(self, p, size):
        os.truncate(p, size)

    def rename(self, a, b):
        os.rename(a, b)

    def exchange(self, a, b):
        _check(_libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE))

    def editor_save(self, p, n, seed):
        """What editors do: write the new text to a temp file beside p, give it p's mode, rename it over p."""
        before = _ino(p)
        d, base = os.path.split(p)
        tmp = os.path.join(d, '.' + base + '.swp')
        try:
            mode = stat.S_IMODE(os.stat(p).st_mode)
        except OSError:
            mode = 0o644
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            try:
                os.write(fd, data(seed, clip(0, n)))
                os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, p)
        except OSError:
            os.unlink(tmp)
            raise
        self._new_object(p, before)

    def unlink(self, p):
        os.unlink(p)

    def open_keep(self, slot, p):
        self.fd_close_quiet(slot)
        self.fds[slot] = os.open(p, os.O_RDWR)

    def unlink_open(self, slot, p):
        self.open_keep(slot, p)
        os.unlink(p)

    def _slot(self, table, slot, what):
        """The slot asked for if it is open, else another open one (deterministically), else an error."""
        if slot in table:
            return slot
        if not table:
            raise ValueError('no %s open' % what)
        return sorted(table)[slot % len(table)]

    def _fd(self, slot):
        return self.fds[self._slot(self.fds, slot, 'fd')]

    def fd_write(self, slot, off, n, seed):
        os.pwrite(self._fd(slot), data(seed, clip(off, n)), off)

    def fd_truncate(self, slot, size):
        os.ftruncate(self._fd(slot), size)

    def fd_close(self, slot):
        os.close(self.fds.pop(self._slot(self.fds, slot, 'fd')))

    def fd_close_quiet(self, slot):
        if slot in self.fds:
            os.close(self.fds.pop(slot))

    def _remove(self, p):
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        elif os.path.lexists(p):
            os.unlink(p)

    def replace_new(self, p, n, seed):
        """Remove p and create a new file at the name just freed (the kernel may reuse the inode number)."""
        if os.path.lexists(p) and not os.path.isdir(p):
            os.unlink(p)
        self.create(p, n, seed, 0o644)

    def retype(self, p, kind):
        """Whatever is at p goes (rm -rf), and an object of another type takes the name."""
        before = _ino(p)
        self._remove(p)
        if kind == 'file':
            fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            try:
                os.write(fd, data(len(p), 10 + len(p)))
            finally:
                os.close(fd)
        elif kind == 'symlink':
            os.symlink('f0', p)
        else:
            os.mkdir(p, 0o755)
        self._new_object(p, before)

    def link(self, a, b, follow):
        os.link(a, b, follow_symlinks=follow)

    def symlink(self, target, p):
        before = _ino(p)
        os.symlink(target, p)
        self._new_object(p, before)

    def mkdir(self, p, mode):
        before = _ino(p)
        os.mkdir(p, mode)
        self._new_object(p, before)

    def rmdir(self, p):
        os.rmdir(p)

    def chmod(self, p, mode):
        os.chmod(p, mode)

    def chown(self, p, uid, gid):
        os.chown(p, uid, gid, follow_symlinks=False)

    def utime(self, p, atime_ns, mtime_ns, follow):
        os.utime(p, ns=(atime_ns, mtime_ns), follow_symlinks=follow)

    def setxattr(self, p, name, n, seed):
        os.setxattr(p, name, data(seed, n), follow_symlinks=False)

    def removexattr(self, p, name):
        os.removexattr(p, name, follow_symlinks=False)

    def mmap_open(self, slot, p):
        self.mmap_close_quiet(slot)
        fd = os.open(p, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                raise ValueError('empty file: nothing to map')
            m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
        self.maps[slot] = (m, fd)

    def mmap_write(self, slot, off, n, seed):
        m, fd = self.maps[self._slot(self.maps, slot, 'mapping')]
        # Never touch a page past the file's end (SIGBUS), nor bytes past it (they are not the file's).
        size = min(len(m), os.fstat(fd).st_size)
        if off >= size:
            raise ValueError('offset %d beyond the mapped file (%d bytes)' % (off, size))
        b = data(seed, min(n, size - off))
        m[off:off + len(b)] = b

    def mmap_close(self, slot):
        self.mmap_close_quiet(self._slot(self.maps, slot, 'mapping'))

    def mmap_close_quiet(self, slot):
        if slot in self.maps:
            m, fd = self.maps.pop(slot)
            m.close()
            os.close(fd)

    def punch_hole(self, p, off, n):
        fd = os.open(p, os.O_WRONLY)
        try:
            _check(_libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n))
        finally:
            os.close(fd)

    # -- steps run by a child process (the journal sees several processes) --------------------------
    def _child(self, argv):
        r = subprocess.run(argv, capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            raise ValueError('%s exit %d: %s' % (argv[0] if argv[0] != 'sh' else argv[2], r.returncode, r.stderr.strip()[:200]))

    def _size(self, p):
        try:
            return os.stat(p).st_size
        except OSError:
            return 0

    def sh_append(self, p, n, seed):
        self._child(['sh', '-c', 'printf %s "$1" >> "$2"', 'sh', text(seed, clip(self._size(p), n)), p])

    def sh_write(self, p, n, seed):
        before = _ino(p)
        self._child(['sh', '-c', 'printf %s "$1" > "$2"', 'sh', text(seed, clip(0, n)), p])
        self._new_object(p, before)

    def cp(self, a, b):
        before = _ino(b)
        self._child(['cp', '-T', '-P', a, b])
        self._new_object(b, before)

    def mv(self, a, b):
        self._child(['mv', '-T', a, b])

    def sh_rm(self, p):
        self._child(['sh', '-c', 'rm -f -- "$1"', 'sh', p])

    def sed_i(self, p):
        before = _ino(p)
        self._child(['sed', '-i', '-e', 's/[a-m]/Z/', p])
        self._new_object(p, before)

    def checkpoint(self):
        r = subprocess.run(self.scoord + ['checkpoint'], capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            sys.stderr.write('scoord checkpoint failed (exit %d): %s %s\n' % (r.returncode, r.stdout, r.stderr))
            sys.exit(97)
        cid = int(r.stdout.strip())
        write_listing(self.root, os.path.join(self.snap, 'ckpt-%d' % cid))
        return 'checkpoint %d' % cid

    # -- the run -----------------------------------------------------------------------------------
    def perform(self, steps):
        for k, step in enumerate(steps):
            try:
                res = getattr(self, step[0])(*step[1:])
                outcome = res if isinstance(res, str) else 'ok'
            except (OSError, ValueError) as x:
                code = getattr(x, 'errno', None)
                outcome = errno.errorcode.get(code, '') if code else ''
                outcome = (outcome + ' ' if outcome else '') + '%s: %s' % (type(x).__name__, x)
            os.write(1, ('OUT %d %s\n' % (k, outcome.replace('\n', ' '))).encode('utf-8', 'replace'))
        for slot in list(self.maps):
            self.mmap_close_quiet(slot)
        for slot in list(self.fds):
            self.fd_close_quiet(slot)
        self.save_state()


# -- the tree every case starts from (made outside scoord, so the journal has never seen it) ----------
def setup(root):
    os.chdir(root)
    os.umask(0)
    with open('f0', 'wb') as f:
        f.write(data(3, 5000))
    os.chmod('f0', 0o644)
    os.setxattr('f0', 'user.k0', b'seed')
    os.mkdir('d0', 0o755)
    with open('d0/f1', 'wb') as f:
        f.write(b'b' * 100)
    os.chmod('d0/f1', 0o600)
    os.mkdir('d0/e0', 0o750)
    with open('d0/e0/f0', 'wb') as f:
        f.seek(12288)
        f.write(data(9, 3000))      # a hole, then data
    os.mkdir('d1', 0o755)
    os.link('d0/f1', 'd1/f0')       # two names of one file
    os.symlink('f0', 'f2')
    os.mkdir('d2', 0o700)
    os.setxattr('d2', 'user.k1', b'dir')
    for p in ['f0', 'd0/f1', 'd0/e0/f0', 'f2', 'd0/e0', 'd0', 'd1', 'd2', '.']:
        os.utime(p, ns=(1000000000000000000, 1000000000000000000 + len(p)), follow_symlinks=False)


# -- changes made outside scoord -------------------------------------------------------------------
def outside(root, changes):
    os.chdir(root)
    done = []
    for c in changes:
        kind, p = c[0], c[1]
        try:
            if kind == 'overwrite':
                fd = os.open(p, os.O_WRONLY | os.O_NOFOLLOW)
                try:
                    os.pwrite(fd, data(c[4], clip(c[2], c[3])), c[2])
                finally:
                    os.close(fd)
            elif kind == 'append':
                fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
                try:
                    os.write(fd, data(c[3], clip(os.fstat(fd).st_size, c[2])))
                finally:
                    os.close(fd)
            elif kind == 'truncate':
                fd = os.open(p, os.O_WRONLY | os.O_NOFOLLOW)
                try:
                    os.ftruncate(fd, c[2])
                finally:
                    os.close(fd)
            elif kind == 'create':
                fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
                try:
                    os.write(fd, data(c[3], clip(0, c[2])))
                finally:
                    os.close(fd)
            elif kind == 'delete':
                os.unlink(p)
            elif kind == 'chmod':
                if os.path.islink(p):
                    raise OSError(errno.ELOOP, 'a symlink: its mode cannot change')
                os.chmod(p, c[2])
            elif kind == 'utime':
                os.utime(p, ns=(c[2], c[2]), follow_symlinks=False)
            elif kind == 'setxattr':
                os.setxattr(p, c[2], data(c[3], 16), follow_symlinks=False)
            elif kind == 'removexattr':
                os.removexattr(p, c[2], follow_symlinks=False)
            done.append('ok')
        except OSError as x:
            done.append('%s %s' % (errno.errorcode.get(x.errno, '?'), x.strerror))
    json.dump(done, sys.stdout)


if __name__ == '__main__' and len(sys.argv) > 2:
    mode = sys.argv[1]
    if mode == 'run':
        root, snap, run, scoord = sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
        os.chdir(root)
        os.umask(0o022)
        with open(os.path.join(snap, 'run-%d.json' % run)) as f:
            steps = json.load(f)
        Driver(root, snap, run, scoord).perform(steps)
    elif mode == 'list':
        write_listing(sys.argv[2], sys.argv[3])
    elif mode == 'setup':
        setup(sys.argv[2])
    elif mode == 'outside':
        outside(sys.argv[2], json.loads(sys.argv[3]))
    else:
        sys.exit('unknown mode ' + mode)
