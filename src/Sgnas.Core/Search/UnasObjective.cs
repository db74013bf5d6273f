namespace Sgnas.Search;

/// <summary>What UNAS minimises besides the constraint term (UNAS section 3.2).</summary>
public enum UnasObjective
{
    /// <summary>Validation cross-entropy, E[L_val(z, w)] (UNAS Eq. 6).</summary>
    Validation,
    /// <summary>The generalisation loss E[L_train + λ·|L_val − L_train|] (UNAS Eq. 8), λ = <see cref="UnasOptions.GapWeight"/>.</summary>
    Generalization,
}
