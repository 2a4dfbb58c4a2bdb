namespace Scoord.Tests.Interceptors;

/// <summary>
/// Linux x86_64 values the filter tests feed in as arguments. Every constant here is also checked against the
/// system headers by <see cref="AbiConstantsTests"/> (the C name is the field name), so the scenarios use real values.
/// </summary>
internal static class LinuxAbi
{
    public const uint MAP_SHARED = 0x01;
    public const uint MAP_PRIVATE = 0x02;
    public const uint MAP_SHARED_VALIDATE = 0x03;
    public const uint MAP_ANONYMOUS = 0x20;
    public const uint PROT_READ = 0x1;
    public const uint PROT_WRITE = 0x2;

    public const uint FICLONE = 0x40049409;
    public const uint FICLONERANGE = 0x4020940d;
    public const uint FIDEDUPERANGE = 0xc0189436;
    public const uint FS_IOC_SETFLAGS = 0x40086602;
    public const uint FS_IOC_FSSETXATTR = 0x401c5820;
    public const uint FS_IOC_GETFLAGS = 0x80086601;
    public const uint TCGETS = 0x5401;
    public const uint FIONREAD = 0x541B;

    public const ulong CLONE_VM = 0x100;
    public const ulong CLONE_FS = 0x200;
    public const ulong CLONE_FILES = 0x400;
    public const ulong CLONE_SIGHAND = 0x800;
    public const ulong CLONE_THREAD = 0x10000;
    public const ulong CLONE_NEWNS = 0x20000;
    public const ulong CLONE_NEWUSER = 0x10000000;
    public const ulong CLONE_NEWPID = 0x20000000;
    public const ulong CLONE_NEWNET = 0x40000000;

    public const uint SECCOMP_RET_ACTION_FULL = 0xffff0000;
    public const uint SECCOMP_RET_DATA = 0x0000ffff;
    public const uint SECCOMP_MODE_FILTER = 2;
    public const uint PR_SET_NO_NEW_PRIVS = 38;
    public const uint PR_SET_SECCOMP = 22;
}
