namespace Scoord.Interceptors.Decoding;

/// <summary>
/// Decides what is journaled by the object, not by a path prefix: regular files, directories and
/// symlinks on real filesystems (tmpfs included) are; pipes, sockets, ttys, devices and anything on a
/// pseudo-filesystem (procfs, sysfs, cgroupfs, ...) are not. Filesystem types are cached per st_dev.
/// </summary>
internal sealed unsafe class ObjectClassifier
{
    private readonly Dictionary<ulong, bool> _pseudoByDev = new();

    private static readonly long[] s_pseudoFsTypes =
    [
        0x9fa0,     // proc
        0x62656572, // sysfs
        0x1cd1,     // devpts
        0x27e0eb,   // cgroup
        0x63677270, // cgroup2
        0x64626720, // debugfs
        0x74726163, // tracefs
        0x73636673, // securityfs
        0xcafe4a11, // bpf
        0x6165676C, // pstore
        0xde5e81e4, // efivarfs
        0x62656570, // configfs
        0x65735543, // fusectl
        0x19800202, // mqueue
        0xf97cff8c, // selinuxfs
        0x42494e4d, // binfmt_misc
        0x6e736673, // nsfs
        0x50495045, // pipefs
        0x534F434B, // sockfs
        0x09041934, // anon_inode
        0x0187,     // autofs
    ];

    public static ObjectKind KindOf(uint mode) => (mode & Interop.Libc.S_IFMT) switch
    {
        Interop.Libc.S_IFREG => ObjectKind.Regular,
        Interop.Libc.S_IFDIR => ObjectKind.Directory,
        Interop.Libc.S_IFLNK => ObjectKind.Symlink,
        Interop.Libc.S_IFIFO => ObjectKind.Fifo,
        Interop.Libc.S_IFSOCK => ObjectKind.Socket,
        Interop.Libc.S_IFCHR => ObjectKind.CharDevice,
        Interop.Libc.S_IFBLK => ObjectKind.BlockDevice,
        _ => ObjectKind.Unknown,
    };

    /// <summary>True when the filesystem of the stat'ed object is a pseudo-filesystem. Uses the fd to learn the type of a new device.</summary>
    public bool IsPseudoFs(ulong dev, int fd)
    {
        if (_pseudoByDev.TryGetValue(dev, out bool pseudo))
        {
            return pseudo;
        }

        Interop.StatFs sfs;
        if (Interop.Libc.fstatfs(fd, &sfs) != 0)
        {
            return false;
        }

        return Remember(dev, sfs.f_type);
    }

    /// <summary>As <see cref="IsPseudoFs(ulong, int)"/>, by a NUL-terminated path.</summary>
    public bool IsPseudoFs(ulong dev, ReadOnlySpan<byte> nulTerminatedPath)
    {
        if (_pseudoByDev.TryGetValue(dev, out bool pseudo))
        {
            return pseudo;
        }

        Interop.StatFs sfs;
        fixed (byte* p = nulTerminatedPath)
        {
            if (Interop.Libc.statfs(p, &sfs) != 0)
            {
                return false;
            }
        }

        return Remember(dev, sfs.f_type);
    }

    private bool Remember(ulong dev, long fsType)
    {
        bool pseudo = Array.IndexOf(s_pseudoFsTypes, fsType) >= 0;
        _pseudoByDev[dev] = pseudo;
        return pseudo;
    }
}
