//  placeholder
