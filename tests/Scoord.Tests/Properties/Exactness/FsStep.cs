using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Scoord.Tests.Properties.Exactness;

/// <summary>What one step of a generated program does (a method of the driver, exactness_driver.py).</summary>
public enum StepKind
{
    Create,
    Overwrite,
    Append,
    Truncate,
    Rename,
    Exchange,
    EditorSave,
    Unlink,
    OpenKeep,
    UnlinkOpen,
    FdWrite,
    FdTruncate,
    FdClose,
    ReplaceNew,
    Retype,
    Link,
    Symlink,
    Mkdir,
    Rmdir,
    Chmod,
    Chown,
    Utime,
    SetXattr,
    RemoveXattr,
    MmapOpen,
    MmapWrite,
    MmapClose,
    PunchHole,
    ShAppend,
    ShWrite,
    Cp,
    Mv,
    ShRm,
    SedI,
    Checkpoint,
}

/// <summary>
/// One step: its kind and small integers that pick the operands from fixed pools, so that names
/// collide often and FsCheck can shrink every field towards 0 (the simplest choice).
/// </summary>
public sealed record FsStep(StepKind Kind, int A = 0, int B = 0, int Off = 0, int Len = 1, int Seed = 1)
{
    /// <summary>The largest file a program makes (the new rollback keeps a file's whole content at its first touch up to this size).</summary>
    public const int MaxFileSize = 65536;

    /// <summary>Regular-file names, depth ≤ 3. d1/f0 is a second name of d0/f1 in the setup tree; f2 is a symlink to f0.</summary>
    public static readonly string[] Files = ["f0", "f1", "f2", "d0/f0", "d0/f1", "d1/f0", "d1/f1", "d2/f0", "d0/e0/f0", "d0/e0/f1", "d1/e0/f0"];

    public static readonly string[] Dirs = ["d0", "d1", "d2", "d0/e0", "d1/e0", "d2/e0"];

    /// <summary>Anything a rename, chmod, chown, utime or xattr step may name.</summary>
    public static readonly string[] Any = [.. Files, .. Dirs];

    /// <summary>Symlink target texts: a file, a directory, a dangling name, parent-relative and nested names.</summary>
    public static readonly string[] Targets = ["f0", "d0", "nowhere", "../f1", "e0/f0", "d1/f0"];

    public static readonly int[] FileModes = [0x1A4 /*0644*/, 0x180 /*0600*/, 0x1ED /*0755*/, 0x124 /*0444*/, 0x1C0 /*0700*/, 0x9ED /*4755*/, 0x5E8 /*2750*/, 0 /*0000*/, 0x3FF /*1777*/, 0x1A0 /*0640*/];

    public static readonly int[] DirModes = [0x1ED /*0755*/, 0x1C0 /*0700*/, 0x1E8 /*0750*/, 0x3FF /*1777*/, 0x16D /*0555*/];

    public static readonly int[] Ids = [0, 1, 1000, 65534];

    public static readonly string[] XattrNames = ["user.k0", "user.k1", "user.k2"];

    public static readonly string[] Types = ["file", "symlink", "dir"];

    private static T Pick<T>(T[] pool, int i) => pool[i % pool.Length];

    private int Slot => A % 3;

    /// <summary>Fixed nanosecond times (2017 plus Off seconds and Seed ns), so that they shrink to simple values.</summary>
    private long Ns(int k) => 1_500_000_000_000_000_000L + ((long)Off * 1_000_000_007L) + (k * 86_400_000_000_000L) + Seed;

    /// <summary>The driver method and its arguments, by name (what the step really does, pools resolved).</summary>
    public (string Method, (string Name, object Value)[] Args) Call()
    {
        string f = Pick(Files, A), f2 = Pick(Files, B), any = Pick(Any, A), dir = Pick(Dirs, A);

        // Renames mostly keep to their kind (a file name to a file name, a directory to a directory
        // name), so that the tree keeps a shape most steps can work on; types still change through
        // retype, exchange, symlink and rename over a name whose type changed.
        string any2 = Array.IndexOf(Dirs, any) >= 0 ? Pick(Dirs, B) : Pick(Files, B);
        int len = Len, off = Off;
        return Kind switch
        {
            StepKind.Create => ("create", [("p", f), ("n", len), ("seed", Seed), ("mode", Pick(FileModes, B))]),
            StepKind.Overwrite => ("overwrite", [("p", f), ("off", off), ("n", len), ("seed", Seed)]),
            StepKind.Append => ("append", [("p", f), ("n", len), ("seed", Seed)]),
            StepKind.Truncate => ("truncate", [("p", f), ("size", off)]),
            StepKind.Rename => ("rename", [("a", any), ("b", any2)]),
            StepKind.Exchange => ("exchange", [("a", any), ("b", any2)]),
            StepKind.EditorSave => ("editor_save", [("p", f), ("n", len), ("seed", Seed)]),
            StepKind.Unlink => ("unlink", [("p", f)]),
            StepKind.OpenKeep => ("open_keep", [("slot", Slot), ("p", f2)]),
            StepKind.UnlinkOpen => ("unlink_open", [("slot", Slot), ("p", f2)]),
            StepKind.FdWrite => ("fd_write", [("slot", Slot), ("off", off), ("n", len), ("seed", Seed)]),
            StepKind.FdTruncate => ("fd_truncate", [("slot", Slot), ("size", off)]),
            StepKind.FdClose => ("fd_close", [("slot", Slot)]),
            StepKind.ReplaceNew => ("replace_new", [("p", f), ("n", len), ("seed", Seed)]),
            StepKind.Retype => ("retype", [("p", any), ("kind", Pick(Types, B))]),
            StepKind.Link => ("link", [("a", f), ("b", f2), ("follow", Seed % 2 == 1)]),
            StepKind.Symlink => ("symlink", [("target", Pick(Targets, B)), ("p", f)]),
            StepKind.Mkdir => ("mkdir", [("p", dir), ("mode", Pick(DirModes, B))]),
            StepKind.Rmdir => ("rmdir", [("p", dir)]),
            StepKind.Chmod => ("chmod", [("p", any), ("mode", Array.IndexOf(Dirs, any) >= 0 ? Pick(DirModes, B) : Pick(FileModes, B))]),
            StepKind.Chown => ("chown", [("p", any), ("uid", Pick(Ids, B)), ("gid", Pick(Ids, Seed))]),
            StepKind.Utime => ("utime", [("p", any), ("atime_ns", Ns(0)), ("mtime_ns", Ns(1)), ("follow", B % 2 == 1)]),
            StepKind.SetXattr => ("setxattr", [("p", any), ("name", Pick(XattrNames, B)), ("n", len % 200), ("seed", Seed)]),
            StepKind.RemoveXattr => ("removexattr", [("p", any), ("name", Pick(XattrNames, B))]),
            StepKind.MmapOpen => ("mmap_open", [("slot", Slot), ("p", f2)]),
            StepKind.MmapWrite => ("mmap_write", [("slot", Slot), ("off", off), ("n", len), ("seed", Seed)]),
            StepKind.MmapClose => ("mmap_close", [("slot", Slot)]),
            StepKind.PunchHole => ("punch_hole", [("p", f), ("off", off), ("n", len)]),
            StepKind.ShAppend => ("sh_append", [("p", f), ("n", len), ("seed", Seed)]),
            StepKind.ShWrite => ("sh_write", [("p", f), ("n", len), ("seed", Seed)]),
            StepKind.Cp => ("cp", [("a", f), ("b", f2)]),
            StepKind.Mv => ("mv", [("a", any), ("b", any2)]),
            StepKind.ShRm => ("sh_rm", [("p", f)]),
            StepKind.SedI => ("sed_i", [("p", f)]),
            StepKind.Checkpoint => ("checkpoint", []),
            _ => throw new InvalidOperationException(Kind.ToString()),
        };
    }

    /// <summary>The step as the driver reads it: [method, arg...].</summary>
    public JsonArray ToJson()
    {
        (string method, (string Name, object Value)[] args) = Call();
        var a = new JsonArray(JsonValue.Create(method));
        foreach ((_, object value) in args)
        {
            a.Add(value switch
            {
                string s => JsonValue.Create(s),
                int i => JsonValue.Create(i),
                long l => JsonValue.Create(l),
                bool b => JsonValue.Create(b),
                _ => throw new InvalidOperationException(value.GetType().Name),
            });
        }

        return a;
    }

    /// <summary>One readable line, e.g. <c>overwrite(p='d0/f1', off=4096, n=100, seed=7)</c>; modes in octal.</summary>
    public string Describe()
    {
        (string method, (string Name, object Value)[] args) = Call();
        var sb = new StringBuilder(method).Append('(');
        for (int i = 0; i < args.Length; i++)
        {
            (string name, object value) = args[i];
            sb.Append(i == 0 ? "" : ", ").Append(name).Append('=');
            sb.Append(value switch
            {
                string s => "'" + s + "'",
                int m when name is "mode" => "0o" + Convert.ToString(m, 8),
                IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
                bool b => b ? "True" : "False",
                _ => value.ToString(),
            });
        }

        return sb.Append(')').ToString();
    }
}
