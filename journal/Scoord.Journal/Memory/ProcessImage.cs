namespace Scoord.Journal.Memory;

/// <summary>
/// One process of an image (PROCESS_IMAGE record): tree position, credentials, limits, the mm fields,
/// signal dispositions, threads, mappings and descriptors. Its pages are in PAGE_MAP records.
/// </summary>
public sealed class ProcessImage
{
    public const int RlimitCount = 16;
    public const int MmFieldCount = 11;

    public int Pid;
    /// <summary>The parent in the tree; 0 when the parent was the coordinator.</summary>
    public int Ppid;
    /// <summary>Process group and session; 0 when they were the coordinator's (the restore's are taken then).</summary>
    public int Pgid;
    public int Sid;
    /// <summary>The application of the group the process belongs to (1: the one `scoord run` started).</summary>
    public int App;
    /// <summary>The checkpoint whose image holds the pages this one does not list; 0 for a full image.</summary>
    public int BaseCheckpoint;
    public PageTracker Tracker;
    public bool StdioGuarded;
    public bool NoNewPrivs;
    public uint Umask;
    public uint Personality;
    public byte[] Cwd = [];
    public FileRef Exe = new();
    /// <summary>Real, effective, saved, filesystem.</summary>
    public uint[] Uids = new uint[4];
    public uint[] Gids = new uint[4];
    public uint[] Groups = [];
    /// <summary>Soft and hard limit of each RLIMIT_* (0..15).</summary>
    public ulong[] RlimitCur = new ulong[RlimitCount];
    public ulong[] RlimitMax = new ulong[RlimitCount];
    /// <summary>start_code, end_code, start_data, end_data, start_brk, brk, start_stack, arg_start, arg_end, env_start, env_end.</summary>
    public ulong[] Mm = new ulong[MmFieldCount];
    public byte[] Auxv = [];
    /// <summary>Dispositions that are not SIG_DFL (and SIGCHLD always), by signal number.</summary>
    public List<SignalAction> Actions = [];
    /// <summary>ITIMER_REAL, _VIRTUAL, _PROF: interval and value, as struct itimerval (4 x i64).</summary>
    public long[] Itimers = new long[12];
    /// <summary>Signals pending for the whole process (struct siginfo each).</summary>
    public List<PendingSignal> Pending = [];
    public List<ThreadImage> Threads = [];
    public List<VmaImage> Vmas = [];
    public List<FdImage> Fds = [];
    /// <summary>Children that had exited and were not yet reaped: recreated as zombies.</summary>
    public List<ZombieImage> Zombies = [];
}
