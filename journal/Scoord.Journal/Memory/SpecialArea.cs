namespace Scoord.Journal.Memory;

/// <summary>One of the kernel's special mappings ([vdso], [vvar], [vvar_vclock]): its name, and its place relative to [vdso].</summary>
public sealed class SpecialArea
{
    public string Name = "";
    /// <summary>Start minus the start of [vdso] (negative below it).</summary>
    public long Offset;
    public ulong Size;
}
