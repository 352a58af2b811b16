"""aezoo's core: the Encoder/Decoder/Objective interfaces, the AutoEncoder, objectives, corruptions,
the Trainer and the Evaluator. Nothing here knows a concrete model or where runs are stored."""
