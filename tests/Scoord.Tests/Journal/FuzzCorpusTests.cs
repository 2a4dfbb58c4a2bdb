using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Codec;
using Scoord.Journal.Model;
using Xunit;

namespace Scoord.Tests.Journal;

/// <summary>
/// The seeds in fuzz/corpus/journal-record/ are valid records. Run with SCOORD_WRITE_SEEDS=1 to
/// (re)write them from the samples below.
/// </summary>
public class FuzzCorpusTests
{
    private static readonly string s_corpus = FindCorpus();

    [Fact]
    public void Seeds_in_the_fuzz_corpus_are_valid_records_of_every_type()
    {
        if (Environment.GetEnvironmentVariable("SCOORD_WRITE_SEEDS") == "1")
        {
            Directory.CreateDirectory(s_corpus);
            foreach ((string name, byte[] record) in Seeds())
            {
                File.WriteAllBytes(Path.Combine(s_corpus, name), record);
            }
        }

        var types = new HashSet<RecordType>();
        string[] files = Directory.GetFiles(s_corpus);
        Assert.InRange(files.Length, 3, 10);
        foreach (string file in files)
        {
            Assert.True(RecordCodec.TryDecode(File.ReadAllBytes(file), out DecodedRecord r, out DecodeError error), $"{file}: {error}");
            types.Add(r.Type);
        }

        Assert.Equal([RecordType.Intent, RecordType.Completion, RecordType.Process, RecordType.Meta], types.Order());
    }

    private static IEnumerable<(string Name, byte[] Record)> Seeds()
    {
        byte[] b = new byte[4096];
        RecordCodec.TryEncodeIntent(b, Samples.Intent(1, OpCode.Openat), "/home/user/notes.txt"u8, default, out int n);
        yield return ("intent-openat", b[..n]);
        OpIntent rename = Samples.Intent(2, OpCode.Renameat2);
        rename.OpFlags = 2; // RENAME_EXCHANGE
        RecordCodec.TryEncodeIntent(b, rename, [.. "/tmp/a"u8, 0xFF, 0xFE], "/tmp/b"u8, out n);
        yield return ("intent-renameat2-nonutf8", b[..n]);
        RecordCodec.TryEncodeCompletion(b, Samples.Completion(1, errno: 2), out n);
        yield return ("completion-enoent", b[..n]);
        RecordCodec.TryEncodeProcess(b, new ProcessEvent { TimeNs = 7, Kind = OpCode.Exec, Pid = 4242, Ppid = 4241 }, "/usr/bin/tar"u8, "tar\0-cf\0out.tar\0src\0"u8, out n);
        yield return ("process-exec", b[..n]);
        RecordCodec.TryEncodeMeta(b, new JournalMeta { FormatVersion = 1, JournalId = new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"), CreatedNs = 1_700_000_000_000_000_000 }, out n);
        yield return ("meta", b[..n]);
    }

    private static string FindCorpus()
    {
        for (string? d = AppContext.BaseDirectory; d is not null; d = Path.GetDirectoryName(d))
        {
            if (File.Exists(Path.Combine(d, "StorageCkpt.sln")))
            {
                return Path.Combine(d, "fuzz", "corpus", "journal-record");
            }
        }

        return "/work/main/fuzz/corpus/journal-record";
    }
}
