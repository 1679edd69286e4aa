use pyo3::prelude::*;

#[pymodule]
fn _fastsum(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
