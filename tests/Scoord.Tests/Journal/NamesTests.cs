using System.Text;
using System.Text.RegularExpressions;
using FsCheck.Xunit;
using Scoord.Interceptors;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;
using Xunit;

namespace Scoord.Tests.Journal;

public class NamesTests
{
    [Fact]
    public void Every_op_code_has_a_unique_name_that_parses_back_case_insensitively()
    {
        var seen = new HashSet<string>();
        foreach (OpCode op in Enum.GetValues<OpCode>().Where(o => o != OpCode.None))
        {
            string name = OpNames.Name(op);
            Assert.True(seen.Add(name), name);
            Assert.True(OpNames.TryParse(name.ToUpperInvariant(), out OpCode back));
            Assert.Equal(op, back);
        }

        Assert.Equal("pwrite64", OpNames.Name(OpCode.Pwrite64));
        Assert.Equal("copy_file_range", OpNames.Name(OpCode.CopyFileRange));
        Assert.Equal("exec", OpNames.Name(OpCode.Exec));
        Assert.Equal("op999", OpNames.Name((OpCode)999));
        Assert.False(OpNames.TryParse("nosuchcall", out _));
    }

    [Fact]
    public void Errno_names_match_the_system_headers()
    {
        const string header = "/usr/include/asm-generic/errno.h";
        const string baseHeader = "/usr/include/asm-generic/errno-base.h";
        Assert.True(File.Exists(header) && File.Exists(baseHeader), "kernel headers are needed for this check");
        var defines = new Regex(@"^#define\s+(E[A-Z0-9]+)\s+(\d+)", RegexOptions.Multiline);
        int count = 0;
        foreach (Match m in defines.Matches(File.ReadAllText(baseHeader) + File.ReadAllText(header)))
        {
            int number = int.Parse(m.Groups[2].Value);
            Assert.Equal(m.Groups[1].Value, ErrnoNames.Name(number));
            Assert.True(ErrnoNames.TryParse(m.Groups[1].Value.ToLowerInvariant(), out int back));
            Assert.Equal(number, back);
            count++;
        }

        Assert.Equal(131, count); // 1..133 without 41 and 58
        Assert.True(ErrnoNames.TryParse("EWOULDBLOCK", out int again));
        Assert.Equal(11, again);
        Assert.Equal("41", ErrnoNames.NameOrNumber(41));
    }

    [Property(MaxTest = 1000)]
    public bool Path_text_round_trips_any_bytes(byte[] bytes)
    {
        bytes ??= [];
        string text = PathText.ToText(bytes);
        return PathText.ToBytes(text).AsSpan().SequenceEqual(bytes);
    }

    [Fact]
    public void Path_text_passes_utf8_through_and_escapes_invalid_bytes_as_low_surrogates()
    {
        Assert.Equal("/tmp/héllo/😀", PathText.ToText(Encoding.UTF8.GetBytes("/tmp/héllo/😀")));
        Assert.Equal("/tmp/\uDCFF\uDCC3x", PathText.ToText([(byte)'/', (byte)'t', (byte)'m', (byte)'p', (byte)'/', 0xFF, 0xC3, (byte)'x']));
        // An encoded surrogate (ED A0 80) is not valid UTF-8: each byte is escaped.
        Assert.Equal("\uDCED\uDCA0\uDC80", PathText.ToText([0xED, 0xA0, 0x80]));
        Assert.False(PathText.TryToBytes("\uDC00", out _));
        Assert.Equal("\"a\\\"b\\\\\\n\\udcff\"", Scoord.Cli.Output.JsonPathText.Literal([(byte)'a', (byte)'"', (byte)'b', (byte)'\\', (byte)'\n', 0xFF]));
    }
}
