# The driver of the transparency property (TransparencyProperties.cs): runs a generated sequence of
# syscalls with edge arguments and prints one line per step ("I RESULT": "ok", "ok:VALUE" or the errno
# name), the same bare and under `scoord run`; and lists a tree relative to its root (walking with
# directory fds, so trees deeper than PATH_MAX list too).
#
#   driver.py run ROOT SHM STEPS   steps: JSON [sequence, ...], sequence = [[op, hex arg1, hex arg2, int], ...];
#                                   sequence K runs in a child process of its own, in ROOT/K (its "@S/..."
#                                   paths below SHM/K, another filesystem); paths are bytes relative to the cwd
#   driver.py list ROOT SHM        one line per object: where, name (hex), type, mode, uid, gid, nlink, size,
#                                   content hash, link target (hex)
import errno, hashlib, json, os, stat, sys

N255 = b'n' * 255


def path(arg, shm):
    return shm + arg[2:] if arg.startswith(b'@S') else arg


def run(root, shm, steps_file):
    with open(steps_file) as f:
        sequences = json.load(f)
    for k, steps in enumerate(sequences):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                sequence(os.path.join(root, str(k).encode()), os.path.join(shm, str(k).encode()), steps, k)
            finally:
                sys.stdout.flush()
                os._exit(0)
        os.waitpid(pid, 0)


def sequence(root, shm, steps, k):
    os.umask(0o022)
    os.mkdir(root, 0o777)
    os.mkdir(shm, 0o777)
    os.chmod(root, 0o777)  # a uid the program switches to may enter them
    os.chmod(shm, 0o777)
    os.chdir(root)
    rootfd = os.open(b'.', os.O_RDONLY | os.O_DIRECTORY)
    for i, (op, a, b, n) in enumerate(steps):
        p = path(bytes.fromhex(a), shm)
        q = path(bytes.fromhex(b), shm)
        try:
            r = step(op, p, q, n, rootfd)
            out = 'ok' if r is None else 'ok:' + str(r)
        except OSError as e:
            out = errno.errorcode.get(e.errno, str(e.errno))
        print(k, i, op, out)


def step(op, p, q, n, rootfd):
    if op == 'mkdir':
        os.mkdir(p, n)
    elif op == 'rmdir':
        os.rmdir(p)
    elif op == 'create':
        # n: low 12 bits mode, bit 16 O_EXCL, bit 17 O_TRUNC, bit 18 O_APPEND, bits 20+ bytes to write
        # O_NONBLOCK: a FIFO without a reader fails with ENXIO instead of blocking the program
        flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | (os.O_EXCL if n & (1 << 16) else 0) | (os.O_TRUNC if n & (1 << 17) else 0) | (os.O_APPEND if n & (1 << 18) else 0)
        fd = os.open(p, flags, n & 0o7777)
        try:
            return os.write(fd, bytes((j * 7) & 0xff for j in range(n >> 20)))
        finally:
            os.close(fd)
    elif op == 'pwrite':
        fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
        try:
            return os.pwrite(fd, b'P' * 100, n)
        finally:
            os.close(fd)
    elif op == 'truncate':
        os.truncate(p, n)
    elif op == 'unlink':
        os.unlink(p)
    elif op == 'rename':
        os.rename(p, q)
    elif op == 'link':
        os.link(p, q)
    elif op == 'symlink':
        os.symlink(q, p)
    elif op == 'chmod':
        os.chmod(p, n)
    elif op == 'chdir':
        os.chdir(p)
    elif op == 'cdroot':
        os.fchdir(rootfd)
    elif op == 'mkfifo':
        os.mkfifo(p, 0o644)
    elif op == 'deep':
        # n levels of NAME_MAX names below the cwd, entered one by one (the absolute path passes PATH_MAX)
        for _ in range(n):
            try:
                os.mkdir(N255)
            except FileExistsError:
                pass
            os.chdir(N255)
    elif op == 'drop':
        # a non-root uid/gid from now on: permissions refuse what they refuse bare
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    else:
        raise ValueError(op)


def listing(root, shm):
    out = []
    for where, top in (('T', root), ('S', shm)):
        for dirpath, dirs, files, dfd in os.fwalk(top):
            rel = os.path.relpath(dirpath, top)
            for name in dirs + files:
                st = os.lstat(name, dir_fd=dfd)
                h = ''
                if stat.S_ISREG(st.st_mode):
                    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dfd)
                    with os.fdopen(fd, 'rb') as f:
                        h = hashlib.sha256(f.read()).hexdigest()[:16]
                target = os.readlink(name, dir_fd=dfd).encode('utf-8', 'surrogateescape').hex() if stat.S_ISLNK(st.st_mode) else ''
                full = os.path.join(rel, name).encode('utf-8', 'surrogateescape')
                out.append(f'{where} {full.hex()} {stat.S_IFMT(st.st_mode):o} {stat.S_IMODE(st.st_mode):o} {st.st_uid} {st.st_gid} '
                           f'{st.st_nlink if not stat.S_ISDIR(st.st_mode) else "-"} {st.st_size if not stat.S_ISDIR(st.st_mode) else "-"} {h} {target}')
    for line in sorted(out):
        print(line)


if __name__ == '__main__':
    if sys.argv[1] == 'run':
        run(os.fsencode(sys.argv[2]), os.fsencode(sys.argv[3]), sys.argv[4])
    else:
        listing(sys.argv[2], sys.argv[3])
