using Scoord.Interceptors;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;
using Scoord.Journal.Codec;
using Scoord.Journal.Model;

namespace Scoord.Fuzz.Targets;

/// <summary>
/// Fuzz target for every decoder of stored journal values (corpus: fuzz/corpus/journal-record/).
/// Journal files are untrusted input (a damaged disk, a hostile copy): no input may throw or crash.
/// A decoded record is re-encoded and must decode to the same values.
/// </summary>
public static class JournalRecordTarget
{
    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        bool any = RecordCodec.TryDecode(input, out DecodedRecord record, out DecodeError error);
        if (any != (error == DecodeError.None))
        {
            throw new InvalidOperationException("TryDecode result and error disagree");
        }

        RecordCodec.TryReadFrame(input, out _, out _, out _, out _);
        bool intent = RecordCodec.TryDecodeIntent(input, out OpIntent i, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> path2, out _);
        bool completion = RecordCodec.TryDecodeCompletion(input, out OpCompletion c, out _);
        bool process = RecordCodec.TryDecodeProcess(input, out ProcessEvent p, out ReadOnlySpan<byte> exe, out ReadOnlySpan<byte> argv, out _);
        bool meta = RecordCodec.TryDecodeMeta(input, out JournalMeta m, out _);
        int decoded = (intent ? 1 : 0) + (completion ? 1 : 0) + (process ? 1 : 0) + (meta ? 1 : 0);
        if (decoded != (any ? 1 : 0))
        {
            throw new InvalidOperationException("typed decoders disagree with TryDecode");
        }

        // The text views of decoded bytes must not throw either, and must round-trip.
        if (intent)
        {
            _ = OpNames.Name(i.Op);
            CheckPathText(path);
            CheckPathText(path2);
            byte[] again = new byte[input.Length];
            if (!RecordCodec.TryEncodeIntent(again, i, path, path2, out int n) || !again.AsSpan(0, n).SequenceEqual(input))
            {
                throw new InvalidOperationException("intent does not re-encode to the same bytes");
            }
        }

        if (completion)
        {
            _ = ErrnoNames.NameOrNumber(c.Errno);
        }

        if (process)
        {
            _ = OpNames.Name(p.Kind);
            CheckPathText(exe);
            CheckPathText(argv);
        }

        if (meta)
        {
            _ = m.JournalId.ToString();
        }
    }

    private static void CheckPathText(ReadOnlySpan<byte> bytes)
    {
        string text = PathText.ToText(bytes);
        if (!PathText.ToBytes(text).AsSpan().SequenceEqual(bytes))
        {
            throw new InvalidOperationException("path text does not round-trip");
        }

        _ = Scoord.Cli.Output.JsonPathText.Literal(text);
    }
}
