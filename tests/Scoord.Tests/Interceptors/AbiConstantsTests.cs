using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Scoord.Interceptors;
using Scoord.Interceptors.Seccomp;
using Scoord.Interceptors.Syscalls;
using Scoord.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Scoord.Tests.Interceptors;

/// <summary>
/// Checks the managed copies of C constants and struct layouts against the system headers: a generated C program
/// prints every value as "label value" and each managed value is compared by label.
/// </summary>
public sealed partial class AbiConstantsTests(ITestOutputHelper output)
{
    private const string Headers = """
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <stddef.h>
        #include <errno.h>
        #include <fcntl.h>
        #include <signal.h>
        #include <unistd.h>
        #include <sched.h>
        #include <sys/stat.h>
        #include <sys/statfs.h>
        #include <sys/user.h>
        #include <sys/wait.h>
        #include <sys/prctl.h>
        #include <sys/file.h>
        #include <sys/uio.h>
        #include <sys/mman.h>
        #include <sys/ioctl.h>
        #include <linux/ptrace.h>
        #include <linux/seccomp.h>
        #include <linux/filter.h>
        #include <linux/audit.h>
        #include <linux/fs.h>
        #include <asm/unistd.h>
        #include <asm/unistd_64.h>

        """;

    /// <summary>Headers older than a constant: what the kernel defines it as (the value is still checked).</summary>
    private static readonly Dictionary<string, string> s_fallbacks = new(StringComparer.Ordinal)
    {
        ["PIDFD_THREAD"] = "O_EXCL", // include/uapi/linux/pidfd.h: #define PIDFD_THREAD O_EXCL (Linux 6.9)
    };

    [Fact]
    public void Managed_constants_struct_layouts_and_syscall_numbers_match_the_system_headers()
    {
        using var tmp = new TempTree("scoord-abi-");
        List<Check> checks = [.. LibcConstants(), .. ErrnoValues(), .. TestConstants(), .. BpfConstants(), .. GeneratorConstants(), .. StructLayouts()];
        Assert.Equal(checks.Count, checks.Select(c => c.Label).Distinct(StringComparer.Ordinal).Count());

        List<string> nrNames = HeaderSyscallMacros(tmp.Path);
        Assert.True(nrNames.Count > 300, $"expected the header to define hundreds of __NR_ macros, found {nrNames.Count}");

        string exe = NativeTool.Compile(tmp.Path, "abi", Program(checks, nrNames));
        ProcessResult run = NativeTool.Run(exe, []);
        Assert.True(run.ExitCode == 0, $"abi program exited {run.ExitCode}: {run.Stderr}");

        Dictionary<string, string> printed = ParseOutput(run.Stdout);
        var mismatches = new List<string>();
        var unchecked_ = new List<string>();

        foreach (Check c in checks)
        {
            if (!printed.TryGetValue(c.Label, out string? text))
            {
                mismatches.Add($"{c.Label}: the C program printed nothing");
            }
            else if (text == "?")
            {
                unchecked_.Add(c.Label);
            }
            else if (long.Parse(text, CultureInfo.InvariantCulture) != c.Managed)
            {
                long header = long.Parse(text, CultureInfo.InvariantCulture);
                mismatches.Add($"{c.Label}: managed {c.Managed} (0x{c.Managed:x}), header {header} (0x{header:x})  [C: {c.CExpr}]");
            }
        }

        int checkedSyscalls = CompareSyscalls(printed, nrNames, mismatches, out List<string> newer);

        output.WriteLine($"{checks.Count} constants/layout values compared, {checkedSyscalls} syscall numbers compared.");
        output.WriteLine($"Managed syscalls newer than the headers (allowed): {(newer.Count == 0 ? "none" : string.Join(", ", newer))}");
        output.WriteLine($"Not defined by these headers (not checked): {(unchecked_.Count == 0 ? "none" : string.Join(", ", unchecked_))}");
        foreach (string m in mismatches)
        {
            output.WriteLine("MISMATCH " + m);
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} managed value(s) differ from the system headers:\n  " + string.Join("\n  ", mismatches));
    }

    [Fact]
    public void A_missing_compiler_is_reported_as_a_failure_not_a_skip()
    {
        // An empty directory as PATH and no $CC: the lookup must fail the test (Assert.Fail), never skip or return.
        using var tmp = new TempTree("scoord-nocc-");
        var e = Assert.ThrowsAny<Exception>(() => NativeTool.RequireCc(cc: null, path: tmp.Path));
        Assert.Contains("No C compiler", e.Message, StringComparison.Ordinal);
    }

    private sealed record Check(string Label, long Managed, string CExpr, string? Guard = null);

    // ---------------------------------------------------------------- managed values

    private static IEnumerable<Check> LibcConstants()
    {
        FieldInfo[] fields = typeof(Interop.Libc).GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
        foreach (FieldInfo f in fields.Where(f => f.IsLiteral && f.FieldType != typeof(string)).OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            yield return Literal(f);
        }
    }

    private static IEnumerable<Check> TestConstants()
    {
        FieldInfo[] fields = typeof(LinuxAbi).GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
        foreach (FieldInfo f in fields.Where(f => f.IsLiteral).OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            Check c = Literal(f);
            yield return c with { Label = "test:" + c.Label };
        }
    }

    private static Check Literal(FieldInfo f)
    {
        long value = Convert.ToInt64(f.GetRawConstantValue(), CultureInfo.InvariantCulture);
        // A constant with a fallback is always defined (the program #defines it when the headers do not).
        return new Check(f.Name, value, f.Name, s_fallbacks.ContainsKey(f.Name) ? null : f.Name);
    }

    private static IEnumerable<Check> ErrnoValues()
    {
        foreach (Errno e in Enum.GetValues<Errno>().Where(e => e != Errno.None))
        {
            string name = e.ToString();
            yield return new Check("Errno." + name, (long)e, name, name);
        }
    }

    private static IEnumerable<Check> BpfConstants()
    {
        yield return new Check("Bpf.LdAbsW", Bpf.LdAbsW, "(BPF_LD | BPF_W | BPF_ABS)");
        yield return new Check("Bpf.JeqK", Bpf.JeqK, "(BPF_JMP | BPF_JEQ | BPF_K)");
        yield return new Check("Bpf.JgtK", Bpf.JgtK, "(BPF_JMP | BPF_JGT | BPF_K)");
        yield return new Check("Bpf.JgeK", Bpf.JgeK, "(BPF_JMP | BPF_JGE | BPF_K)");
        yield return new Check("Bpf.JsetK", Bpf.JsetK, "(BPF_JMP | BPF_JSET | BPF_K)");
        yield return new Check("Bpf.Ja", Bpf.Ja, "(BPF_JMP | BPF_JA)");
        yield return new Check("Bpf.RetK", Bpf.RetK, "(BPF_RET | BPF_K)");
        yield return new Check("Bpf.RetAllow", Bpf.RetAllow, "SECCOMP_RET_ALLOW");
        yield return new Check("Bpf.RetTrace", Bpf.RetTrace, "SECCOMP_RET_TRACE");
        yield return new Check("Bpf.RetErrno", Bpf.RetErrno, "SECCOMP_RET_ERRNO");
        yield return new Check("Bpf.X32SyscallBit", Bpf.X32SyscallBit, "__X32_SYSCALL_BIT", "__X32_SYSCALL_BIT");
        yield return new Check("Bpf.MaxInstructions", Bpf.MaxInstructions, "BPF_MAXINSNS");
        yield return new Check("Bpf.OffNr", Bpf.OffNr, "offsetof(struct seccomp_data, nr)");
        yield return new Check("Bpf.OffArch", Bpf.OffArch, "offsetof(struct seccomp_data, arch)");
        for (int i = 0; i < 6; i++)
        {
            // x86_64 is little-endian: the low 32 bits of args[i] start at the argument's own offset.
            yield return new Check($"Bpf.OffArgLow({i})", Bpf.OffArgLow(i), $"offsetof(struct seccomp_data, args[{i}])");
        }

        yield return new Check("sizeof(struct seccomp_data)", Bpf.OffArgLow(5) + 8, "sizeof(struct seccomp_data)");
        yield return new Check("sizeof(struct seccomp_data.args[0])", 8, "sizeof(((struct seccomp_data *)0)->args[0])");
        yield return new Check("SECCOMP_RET_DATA covers Bpf.Data*", Bpf.DataX32 | Bpf.DataForeignArch | Bpf.DataNative, "((1 | 2 | 0) & SECCOMP_RET_DATA)");
    }

    private static IEnumerable<Check> GeneratorConstants()
    {
        yield return new Check("FilterGenerator.OpenWriteMask", PrivateConst("OpenWriteMask"), "(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)");
        yield return new Check("FilterGenerator.CloneNamespaceMask", PrivateConst("CloneNamespaceMask"), "(CLONE_NEWNS | CLONE_NEWUSER)");
        string[] ioctls = ["FICLONE", "FICLONERANGE", "FIDEDUPERANGE", "FS_IOC_SETFLAGS", "FS_IOC_FSSETXATTR"];
        Assert.Equal(ioctls.Length, FilterGenerator.MutatingIoctls.Length);
        for (int i = 0; i < ioctls.Length; i++)
        {
            yield return new Check($"FilterGenerator.MutatingIoctls[{i}]", FilterGenerator.MutatingIoctls[i], ioctls[i], ioctls[i]);
        }

        static long PrivateConst(string name)
        {
            FieldInfo? f = typeof(FilterGenerator).GetField(name, BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public);
            Assert.True(f is { IsLiteral: true }, $"FilterGenerator.{name} is gone; update this test");
            return Convert.ToInt64(f!.GetRawConstantValue(), CultureInfo.InvariantCulture);
        }
    }

    // ---------------------------------------------------------------- struct layouts

    /// <summary>Managed struct, C type, and for each managed field the C member designator(s) it stands for.</summary>
    private static readonly (Type Managed, string CType, Dictionary<string, string[]> Map)[] s_structs =
    [
        (typeof(Interop.Stat), "struct stat", new(StringComparer.Ordinal)
        {
            ["st_atime_sec"] = ["st_atim.tv_sec"], ["st_atime_nsec"] = ["st_atim.tv_nsec"],
            ["st_mtime_sec"] = ["st_mtim.tv_sec"], ["st_mtime_nsec"] = ["st_mtim.tv_nsec"],
            ["st_ctime_sec"] = ["st_ctim.tv_sec"], ["st_ctime_nsec"] = ["st_ctim.tv_nsec"],
            ["__reserved0"] = ["__glibc_reserved[0]"], ["__reserved1"] = ["__glibc_reserved[1]"], ["__reserved2"] = ["__glibc_reserved[2]"],
        }),
        (typeof(Interop.StatFs), "struct statfs", new(StringComparer.Ordinal)
        {
            ["f_spare0"] = ["f_spare[0]"], ["f_spare1"] = ["f_spare[1]"], ["f_spare2"] = ["f_spare[2]"], ["f_spare3"] = ["f_spare[3]"],
        }),
        (typeof(Interop.UserRegs), "struct user_regs_struct", new(StringComparer.Ordinal)),
        (typeof(Interop.PtraceSyscallInfo), "struct ptrace_syscall_info", new(StringComparer.Ordinal)
        {
            ["nr"] = ["seccomp.nr", "entry.nr"],
            ["args"] = ["seccomp.args", "entry.args"],
            ["ret_data"] = ["seccomp.ret_data"],
            ["rval"] = ["exit.rval"],
            ["is_error"] = ["exit.is_error"],
        }),
        (typeof(Interop.SockFilter), "struct sock_filter", new(StringComparer.Ordinal)),
        (typeof(Interop.IoVec), "struct iovec", new(StringComparer.Ordinal)),
    ];

    private static IEnumerable<Check> StructLayouts()
    {
        foreach ((Type t, string cType, Dictionary<string, string[]> map) in s_structs)
        {
            yield return new Check($"sizeof({cType})", Marshal.SizeOf(t), $"sizeof({cType})");
            foreach (FieldInfo f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            {
                long offset = Marshal.OffsetOf(t, f.Name).ToInt64();
                long size = f.FieldType.IsPointer || f.FieldType == typeof(nint) || f.FieldType == typeof(nuint) ? IntPtr.Size : Marshal.SizeOf(f.FieldType);
                foreach (string member in map.TryGetValue(f.Name, out string[]? m) ? m : [f.Name])
                {
                    yield return new Check($"offsetof({cType}, {member}) [{t.Name}.{f.Name}]", offset, $"offsetof({cType}, {member})");
                    yield return new Check($"sizeof({cType}.{member}) [{t.Name}.{f.Name}]", size, $"sizeof((({cType} *)0)->{member})");
                }
            }
        }

        // ptrace_syscall_info.seccomp.args[i] must sit where the managed fixed buffer puts element i.
        long[] argOffsets = PtraceArgOffsets();
        for (int i = 0; i < argOffsets.Length; i++)
        {
            yield return new Check($"offsetof(struct ptrace_syscall_info, seccomp.args[{i}])", argOffsets[i], $"offsetof(struct ptrace_syscall_info, seccomp.args[{i}])");
        }
    }

    private static unsafe long[] PtraceArgOffsets()
    {
        var info = default(Interop.PtraceSyscallInfo);
        byte* start = (byte*)&info;
        long[] offsets = new long[6];
        for (int i = 0; i < offsets.Length; i++)
        {
            offsets[i] = (byte*)&info.args[i] - start;
        }

        return offsets;
    }

    // ---------------------------------------------------------------- syscalls

    /// <summary>Every __NR_ macro asm/unistd_64.h defines, from the preprocessor's own macro dump.</summary>
    private static List<string> HeaderSyscallMacros(string dir)
    {
        string src = Path.Combine(dir, "nr.c");
        File.WriteAllText(src, "#include <asm/unistd_64.h>\n");
        ProcessResult r = NativeTool.Run(NativeTool.RequireCc(), ["-dM", "-E", src]);
        Assert.True(r.ExitCode == 0, $"cc -dM -E <asm/unistd_64.h> failed: {r.Stderr}");
        return [.. NrDefine().Matches(r.Stdout).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    private static int CompareSyscalls(Dictionary<string, string> printed, List<string> nrMacros, List<string> mismatches, out List<string> newer)
    {
        var headerByName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string macro in nrMacros)
        {
            headerByName[macro["__NR_".Length..]] = int.Parse(printed[macro], CultureInfo.InvariantCulture);
        }

        int headerMax = headerByName.Values.Max();
        foreach ((string name, int nr) in headerByName.OrderBy(kv => kv.Value))
        {
            string? managed = nr >= 0 && nr < X86_64Names.Count ? X86_64Names.ByNumber[nr] : null;
            if (nr >= X86_64Names.Count)
            {
                mismatches.Add($"__NR_{name} = {nr}: beyond the managed table (X86_64Names.Count = {X86_64Names.Count})");
            }
            else if (managed != name)
            {
                mismatches.Add($"__NR_{name} = {nr}: X86_64Names.ByNumber[{nr}] is {(managed is null ? "null" : "\"" + managed + "\"")}");
            }
        }

        newer = [];
        for (int nr = 0; nr < X86_64Names.Count; nr++)
        {
            string? name = X86_64Names.ByNumber[nr];
            if (name is null || headerByName.ContainsKey(name))
            {
                continue;
            }

            if (nr > headerMax)
            {
                newer.Add($"{name}={nr}");
            }
            else
            {
                mismatches.Add($"X86_64Names.ByNumber[{nr}] = \"{name}\": the header defines no __NR_{name} (and {nr} is within the header's range, max {headerMax})");
            }
        }

        int dupes = X86_64Names.ByNumber.Where(n => n is not null).GroupBy(n => n, StringComparer.Ordinal).Count(g => g.Count() > 1);
        if (dupes != 0)
        {
            mismatches.Add($"X86_64Names.ByNumber has {dupes} duplicated name(s)");
        }

        return headerByName.Count;
    }

    // ---------------------------------------------------------------- C program

    private static string Program(List<Check> checks, List<string> nrMacros)
    {
        var sb = new StringBuilder(Headers);
        sb.AppendLine("#define P(label, expr) printf(\"%s %lld\\n\", label, (long long)(expr))");
        sb.AppendLine("#define M(label) printf(\"%s ?\\n\", label)");
        foreach (KeyValuePair<string, string> fb in s_fallbacks)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"#ifndef {fb.Key}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"#define {fb.Key} {fb.Value}");
            sb.AppendLine("#endif");
        }

        sb.AppendLine("int main(void) {");
        foreach (Check c in checks)
        {
            string label = NativeTool.CString(c.Label);
            if (c.Guard is null)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"  P({label}, {c.CExpr});");
            }
            else
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"#ifdef {c.Guard}");
                sb.AppendLine(CultureInfo.InvariantCulture, $"  P({label}, {c.CExpr});");
                sb.AppendLine("#else");
                sb.AppendLine(CultureInfo.InvariantCulture, $"  M({label});");
                sb.AppendLine("#endif");
            }
        }

        foreach (string macro in nrMacros)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  P(\"{macro}\", {macro});");
        }

        sb.AppendLine("  return 0;");
        sb.AppendLine("}");
        return sb.ToString();
    }

    private static Dictionary<string, string> ParseOutput(string stdout)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int sp = line.LastIndexOf(' ');
            Assert.True(sp > 0, $"unparsable line from the abi program: '{line}'");
            d[line[..sp]] = line[(sp + 1)..];
        }

        return d;
    }

    [GeneratedRegex(@"^#define (__NR_\w+) ", RegexOptions.Multiline)]
    private static partial Regex NrDefine();
}
