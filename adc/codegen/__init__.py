"""Code generation: the imperative IR that the primal and the derivative transforms write (pyir),
and the emitters that turn SSA ops into it. Compiling what it prints is backend/'s job."""

GENERATED_PREFIX = "adc_generated_"  # generated modules are named so: the frontend knows its own code by it
