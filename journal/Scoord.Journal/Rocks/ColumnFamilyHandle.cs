namespace Scoord.Journal.Rocks;

/// <summary>rocksdb_column_family_handle_t (destroyed with its database).</summary>
public sealed class ColumnFamilyHandle
{
    internal ColumnFamilyHandle(string name, nint handle)
    {
        Name = name;
        Handle = handle;
    }

    public string Name { get; }

    public nint Handle { get; }
}
