# Declarations of the C core (csrc/), one .pxd per header, and the glue the bindings share
# (glue.pxi). Extern declarations only: cimporting them adds no runtime import.
