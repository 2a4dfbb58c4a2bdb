using System.Globalization;
using System.Text;

namespace Scoord.Tests.Properties;

/// <summary>One kind of step of a generated file program.</summary>
public enum StepOp
{
    Create,
    WriteNew,
    Write,
    Append,
    Truncate,
    Rename,
    Unlink,
    UnlinkOpenThenWrite,
    Link,
    Symlink,
    Mkdir,
    Rmdir,
    Chmod,
    Utime,
    SetXattr,
    RemoveXattr,
    MmapWrite,
    MmapAcrossCheckpoint,
    Checkpoint,
}

/// <summary>
/// One step: the operation and small integers that pick its operands from fixed pools (so that FsCheck
/// can shrink every field towards 0 = the simplest choice).
/// </summary>
public sealed record Step(StepOp Op, int A, int B, int Off, int Len, int Seed)
{
    /// <summary>File names at depth ≤ 2 (4 names, 2 directory names), so that steps often collide.</summary>
    public static readonly string[] Files = ["a", "b", "c", "d", "d0/a", "d0/b", "d1/c", "d0/d1/d"];

    public static readonly string[] Dirs = ["d0", "d1", "d0/d1", "d1/d0"];

    /// <summary>Anything a rename, chmod, utime or xattr step may name.</summary>
    public static readonly string[] Any = [.. Files, .. Dirs];

    /// <summary>Symlink target texts: an existing file, a directory, a dangling name, a parent-relative name.</summary>
    public static readonly string[] Targets = ["a", "d0", "nowhere", "../a", "d0/b"];

    public static readonly int[] Modes = [0x1A4 /*0644*/, 0x180 /*0600*/, 0x1ED /*0755*/, 0x124 /*0444*/, 0x1C0 /*0700*/, 0x9ED /*4755*/, 0x5E8 /*2750*/, 0 /*0000*/, 0x3FF /*1777*/];

    public static readonly string[] XattrNames = ["user.k0", "user.k1", "user.k2"];

    private static string Pick(string[] pool, int i) => pool[i % pool.Length];

    private static string Q(string s) => "'" + s + "'";

    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Fixed nanosecond times: 2017 plus Off seconds and Seed ns, so that they shrink to simple values.</summary>
    private long Ns(int k) => 1_500_000_000_000_000_000L + ((long)Off * 1_000_000_007L) + (k * 86_400_000_000_000L) + Seed;

    /// <summary>The Python statements of the step (run inside try/except, so an invalid step just fails).</summary>
    public string[] Python()
    {
        string f = Pick(Files, A), f2 = Pick(Files, B), any = Pick(Any, A), any2 = Pick(Any, B), dir = Pick(Dirs, A);
        string data = $"data({I(Seed)}, {I(Len)})";
        return Op switch
        {
            StepOp.Create => [$"os.close(os.open({Q(f)}, os.O_CREAT | os.O_WRONLY, 0o644))"],
            StepOp.WriteNew => [$"fd = os.open({Q(f)}, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)", $"try: os.write(fd, {data})", "finally: os.close(fd)"],
            StepOp.Write => [$"fd = os.open({Q(f)}, os.O_WRONLY)", $"try: os.pwrite(fd, {data}, {I(Off)})", "finally: os.close(fd)"],
            StepOp.Append => [$"fd = os.open({Q(f)}, os.O_WRONLY | os.O_APPEND)", $"try: os.write(fd, {data})", "finally: os.close(fd)"],
            StepOp.Truncate => [$"os.truncate({Q(any)}, {I(Off)})"],
            StepOp.Rename => [$"os.rename({Q(any)}, {Q(any2)})"],
            StepOp.Unlink => [$"os.unlink({Q(f)})"],
            StepOp.UnlinkOpenThenWrite => [$"fd = os.open({Q(f)}, os.O_RDWR)", $"try: os.unlink({Q(f)}); os.pwrite(fd, {data}, {I(Off)})", "finally: os.close(fd)"],
            StepOp.Link => [$"os.link({Q(f)}, {Q(f2)})"],
            StepOp.Symlink => [$"os.symlink({Q(Pick(Targets, B))}, {Q(f)})"],
            StepOp.Mkdir => [$"os.mkdir({Q(dir)}, 0o755)"],
            StepOp.Rmdir => [$"os.rmdir({Q(dir)})"],
            StepOp.Chmod => [$"os.chmod({Q(any)}, 0o{Convert.ToString(Modes[B % Modes.Length], 8)})"],
            StepOp.Utime => [$"os.utime({Q(any)}, ns=({I(Ns(0))}, {I(Ns(1))}), follow_symlinks={(B % 2 == 0 ? "False" : "True")})"],
            StepOp.SetXattr => [$"os.setxattr({Q(any)}, {Q(Pick(XattrNames, B))}, {data}, follow_symlinks=False)"],
            StepOp.RemoveXattr => [$"os.removexattr({Q(any)}, {Q(Pick(XattrNames, B))}, follow_symlinks=False)"],
            StepOp.MmapWrite => [$"mmap_write({Q(f)}, {I(Off)}, {data})"],
            StepOp.MmapAcrossCheckpoint => [$"mmap_across_checkpoint({Q(f)}, {I(Off)}, {data})"],
            StepOp.Checkpoint => ["checkpoint()"],
            _ => throw new InvalidOperationException(Op.ToString()),
        };
    }

    /// <summary>One readable line: what the step does, as the Python it runs.</summary>
    public string Describe() => string.Join("; ", Python());
}

/// <summary>
/// A generated program: steps run in order by ONE python3 process under `scoord run`, and the picks
/// of the checkpoints to roll back to afterwards (each taken modulo the number of checkpoints; the
/// program always takes checkpoint 1 before its first step).
/// </summary>
public sealed class FileProgram
{
    public FileProgram(IReadOnlyList<Step> steps, IReadOnlyList<int> rollbackPicks)
    {
        Steps = steps;
        RollbackPicks = rollbackPicks;
    }

    public IReadOnlyList<Step> Steps { get; }

    public IReadOnlyList<int> RollbackPicks { get; }

    /// <summary>
    /// Checkpoints the program takes at most: the initial one plus one per checkpoint step (an mmap step
    /// whose file is missing or empty fails before its checkpoint).
    /// </summary>
    public int MaxCheckpointCount => 1 + Steps.Count(s => s.Op is StepOp.Checkpoint or StepOp.MmapAcrossCheckpoint);

    public override string ToString() => Describe(null);

    /// <summary>The listing, with each step's outcome when known ("ok" or the Python exception).</summary>
    public string Describe(IReadOnlyDictionary<int, string>? outcomes)
    {
        var sb = new StringBuilder();
        sb.AppendLine("  [setup] " + SetupDescription);
        sb.AppendLine("  checkpoint()  # always first: id 1");
        for (int i = 0; i < Steps.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  {i,2}: {Steps[i].Describe()}");
            if (outcomes is not null && outcomes.TryGetValue(i, out string? outcome))
            {
                sb.Append("    # ").Append(outcome);
            }

            sb.AppendLine();
        }

        sb.Append("  rollback picks (modulo the number of checkpoints taken): ").AppendJoin(", ", RollbackPicks);
        return sb.ToString();
    }

    /// <summary>What the tree holds before the traced run (made outside scoord, so it is not in the journal).</summary>
    public const string SetupDescription =
        "a = 5000 bytes (mode 0644, user.k0='seed'); d0/ (0755); d0/b = 100 bytes (0600); d = symlink to 'a'; all mtimes 2001-09-09";

    /// <summary>Python that builds the setup tree in argv[1] (run outside scoord).</summary>
    public const string SetupPython = """
import os, sys
os.chdir(sys.argv[1])
os.umask(0)
with open('a', 'wb') as f: f.write(bytes((i * 7) & 0xff for i in range(5000)))
os.chmod('a', 0o644)
os.setxattr('a', 'user.k0', b'seed')
os.mkdir('d0', 0o755)
with open('d0/b', 'wb') as f: f.write(b'b' * 100)
os.chmod('d0/b', 0o600)
os.symlink('a', 'd')
for p in ['a', 'd0/b', 'd', 'd0', '.']:
    os.utime(p, ns=(1000000000000000000, 1000000000000000000), follow_symlinks=False)
""";

    /// <summary>
    /// The script: argv = ROOT SNAPDIR SCOORD-ARGV-AS-JSON. After each checkpoint (taken by running
    /// `scoord checkpoint` from inside, with no fd open and nothing written since the previous step
    /// closed its files) it stores the tree's snapshot as SNAPDIR/ckpt-ID.json; at the end it writes
    /// SNAPDIR/result.json with the checkpoint ids and every step's outcome.
    /// </summary>
    public string ToPython()
    {
        string snapshotFunctions = TreeSnapshot.PythonSource[..TreeSnapshot.PythonSource.IndexOf("if __name__", StringComparison.Ordinal)];
        var sb = new StringBuilder();
        sb.AppendLine(snapshotFunctions);
        sb.AppendLine("""
import mmap, subprocess
ROOT, SNAP, SCOORD = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
os.chdir(ROOT)
os.umask(0o022)
ids = []
outcomes = {}

def data(seed, n):
    return bytes(((seed * 31 + k * 7 + 1) & 0xff) for k in range(n))

def checkpoint():
    r = subprocess.run(SCOORD + ['checkpoint'], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write('scoord checkpoint failed (exit %d): %s %s\n' % (r.returncode, r.stdout, r.stderr))
        sys.exit(97)
    cid = int(r.stdout.strip())
    with open(os.path.join(SNAP, 'ckpt-%d.json' % cid), 'w') as f:
        json.dump(snapshot(ROOT), f, sort_keys=True)
    ids.append(cid)

def _map(path):
    fd = os.open(path, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        return mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE), size
    finally:
        os.close(fd)

def mmap_write(path, off, b):
    m, size = _map(path)
    try:
        off %= size
        b = b[:size - off]
        m[off:off + len(b)] = b
    finally:
        m.close()

def mmap_across_checkpoint(path, off, b):
    # the mapping lives across a checkpoint: written before it, and again after it
    m, size = _map(path)
    try:
        off %= size
        b = b[:size - off]
        half = len(b) // 2
        m[off:off + half] = b[:half]
        m.flush()
        checkpoint()
        m[off + half:off + len(b)] = b[half:]
        m[off:off + 1] = b'\x00'
    finally:
        m.close()

def step(i, fn):
    try:
        fn()
        outcomes[i] = 'ok'
    except (OSError, ValueError) as x:
        outcomes[i] = '%s %s' % (type(x).__name__, errno.errorcode.get(getattr(x, 'errno', None) or 0, str(x)))

checkpoint()
""");
        for (int i = 0; i < Steps.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"def s{i}():\n");
            foreach (string line in Steps[i].Python())
            {
                sb.Append("    ").AppendLine(line);
            }

            sb.Append(CultureInfo.InvariantCulture, $"step({i}, s{i})\n");
        }

        sb.AppendLine("""
with open(os.path.join(SNAP, 'result.json'), 'w') as f:
    json.dump({'ids': ids, 'outcomes': outcomes}, f)
""");
        return sb.ToString();
    }
}
