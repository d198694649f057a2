// ChatTemplate module
