using System.Buffers.Binary;
using Scoord.Journal.Rocks;
using Scoord.Journal.Codec;

namespace Scoord.Journal;

public sealed partial class JournalReader
{
    /// <summary>Every checkpoint in the journal, oldest (id 1) first, from the "checkpoints" family.</summary>
    public IReadOnlyList<CheckpointInfo> ListCheckpoints()
    {
        var list = new List<CheckpointInfo>();
        using Iterator it = NewIterator(JournalLayout.CheckpointsFamily);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            ReadOnlySpan<byte> key = it.GetKeySpan();
            if (key.Length != CheckpointCodec.KeySize)
            {
                ThrowHelper.ThrowDamaged(_store.Directory, $"a key in {JournalLayout.CheckpointsFamily} has {key.Length} bytes, not {CheckpointCodec.KeySize}");
            }

            uint id = BinaryPrimitives.ReadUInt32BigEndian(key);
            if (!CheckpointCodec.TryDecode(it.GetValueSpan(), out CheckpointInfo? c, out DecodeError error))
            {
                ThrowHelper.ThrowDamaged(_store.Directory, $"checkpoint {id} in {JournalLayout.CheckpointsFamily} is damaged ({DecodeErrors.Describe(error)})");
            }

            if ((uint)c!.Id != id)
            {
                ThrowHelper.ThrowDamaged(_store.Directory, $"checkpoint {id} in {JournalLayout.CheckpointsFamily} holds the record of checkpoint {c.Id}");
            }

            list.Add(c);
        }

        CheckIterator(it, JournalLayout.CheckpointsFamily);
        return list;
    }

    /// <summary>
    /// The checkpoint named by <paramref name="idOrName"/>: an id if it is all digits, else a name.
    /// Throws <see cref="JournalException"/> "no checkpoint 'X' in journal DIR" when there is none.
    /// </summary>
    public CheckpointInfo FindCheckpoint(string idOrName)
    {
        ArgumentNullException.ThrowIfNull(idOrName);
        bool byId = CheckpointNames.IsId(idOrName, out int id);
        foreach (CheckpointInfo c in ListCheckpoints())
        {
            if (byId ? c.Id == id : string.Equals(c.Name, idOrName, StringComparison.Ordinal))
            {
                return c;
            }
        }

        throw new JournalException($"no checkpoint '{idOrName}' in journal {_store.Directory}");
    }

    /// <summary>Id of the newest checkpoint whose seq is below <paramref name="seq"/>, or null before the first.</summary>
    private int? CheckpointBefore(ulong seq)
    {
        int? current = null;
        foreach (CheckpointInfo c in ListCheckpoints())
        {
            if (c.Seq < seq)
            {
                current = c.Id;
            }
        }

        return current;
    }
}
