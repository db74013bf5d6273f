using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;

namespace Sgnas.MLNet.Data;

/// <summary>
/// An <see cref="IDataView"/> over an in-memory <see cref="ImageDataset"/> with the <see cref="ImageColumns"/>
/// schema. Pixels stay bytes; a row's floats are made when its Features getter runs.
/// </summary>
internal sealed class ImageDatasetDataView : IDataView
{
    private readonly ImageDataset _data;

    public ImageDatasetDataView(ImageDataset data)
    {
        _data = data;
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(ImageColumns.Label, new KeyDataViewType(typeof(uint), data.ClassCount), ImageColumns.LabelAnnotations(data.ClassNames));
        builder.AddColumn(ImageColumns.Features, new VectorDataViewType(NumberDataViewType.Single, data.Channels, data.Height, data.Width));
        Schema = builder.ToSchema();
    }

    public bool CanShuffle => true;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _data.Count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded, rand);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ImageDatasetDataView _view;
        private readonly bool[] _active;
        private readonly int[]? _order;
        private long _position = -1;

        public Cursor(ImageDatasetDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand)
        {
            _view = view;
            _active = new bool[view.Schema.Count];
            foreach (var c in columnsNeeded) _active[c.Index] = true;
            if (rand != null) _order = Sgnas.Data.DataSplit.Permutation(view._data.Count, rand);
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        private int Row => _order?[_position] ?? (int)_position;

        public override bool MoveNext()
        {
            if (_position + 1 >= _view._data.Count) { _position = _view._data.Count; return false; }
            _position++;
            return true;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId id) => id = new DataViewRowId((ulong)Row, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index])
                throw new InvalidOperationException($"column '{column.Name}' was not requested when this cursor was made.");
            var data = _view._data;
            Delegate getter = column.Index switch
            {
                0 => (ValueGetter<uint>)((ref uint v) => v = (uint)data.Labels[Row] + 1),
                1 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
                {
                    var editor = VBufferEditor.Create(ref v, data.ImageSize);
                    var pixels = data.GetImage(Row);
                    var values = editor.Values;
                    for (int k = 0; k < pixels.Length; k++) values[k] = pixels[k];
                    v = editor.Commit();
                }),
                _ => throw new ArgumentOutOfRangeException(nameof(column), column.Name, "not a column of this view."),
            };
            return getter as ValueGetter<TValue> ?? throw new InvalidOperationException(
                $"column '{column.Name}' is {column.Type}; a getter of {typeof(TValue).Name} was requested.");
        }
    }
}
