using Microsoft.ML;
using Microsoft.ML.Data;

namespace Sgnas.MLNet.Pipeline;

/// <summary>
/// An <see cref="ITransformer"/> that forwards everything, saving included, to a stock ML.NET chain (the ONNX scoring
/// chain). ML.NET's model-saving interfaces are internal (docs/design.md §6), so the saved .zip holds only stock
/// transformers and loads with <c>mlContext.Model.Load</c> without this library.
/// </summary>
public abstract class DelegatingTransformer : ITransformer
{
    /// <summary>The stock chain doing the work.</summary>
    protected ITransformer Inner { get; }

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected DelegatingTransformer(ITransformer inner) => Inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <inheritdoc />
    public bool IsRowToRowMapper => Inner.IsRowToRowMapper;
    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Inner.GetOutputSchema(inputSchema);
    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => Inner.GetRowToRowMapper(inputSchema);
    /// <inheritdoc />
    public IDataView Transform(IDataView input) => Inner.Transform(input);
    /// <summary>Saves the inner chain, so loading the .zip yields that chain.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => Inner.Save(ctx);

    /// <summary>The stock ML.NET chain (what <c>mlContext.Model.Load</c> returns for the saved model).</summary>
    public ITransformer Chain => Inner;
}
