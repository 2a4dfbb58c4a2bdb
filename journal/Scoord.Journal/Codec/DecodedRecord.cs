using Scoord.Journal.Model;

namespace Scoord.Journal.Codec;

/// <summary>
/// A decoded record of any type. Only the member matching <see cref="Type"/> is meaningful.
/// <see cref="Bytes1"/>/<see cref="Bytes2"/> point into the decoded buffer: for an intent path and path2,
/// for a process event the exe path and argv.
/// </summary>
public ref struct DecodedRecord
{
    public RecordType Type;
    public byte Version;
    public OpIntent Intent;
    public OpCompletion Completion;
    public ProcessEvent Process;
    public JournalMeta Meta;
    public ReadOnlySpan<byte> Bytes1;
    public ReadOnlySpan<byte> Bytes2;
}
