namespace Scoord.Coordinator.Memory;

/// <summary>x86_64 numbers of the syscalls scoord runs inside tracees (dump and restore).</summary>
internal static class Nr
{
    public const long Close = 3;
    public const long Mmap = 9;
    public const long Mprotect = 10;
    public const long Munmap = 11;
    public const long Brk = 12;
    public const long RtSigaction = 13;
    public const long Mremap = 25;
    public const long Madvise = 28;
    public const long Getitimer = 36;
    public const long Setitimer = 38;
    public const long Setgroups = 116;
    public const long Setresuid = 117;
    public const long Setresgid = 119;
    public const long RtSigqueueinfo = 129;
    public const long Sigaltstack = 131;
    public const long Personality = 135;
    public const long Mlock = 149;
    public const long Prctl = 157;
    public const long SetTidAddress = 218;
    public const long Openat = 257;
    public const long RtTgsigqueueinfo = 297;
    public const long Seccomp = 317;
    public const long Userfaultfd = 323;
    public const long Rseq = 334;
    public const long Clone3 = 435;
    public const long Mseal = 462;
}
