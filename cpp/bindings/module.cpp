// The private extension codesign._core. The only translation units that include pybind11 live here.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_systolic(py::module_& m);
void bind_edgetpu(py::module_& m);

PYBIND11_MODULE(_core, m) {
    m.doc() = "codesign's C++ core (private: use the codesign package).";
    bind_systolic(m);
    bind_edgetpu(m);
}
